"""Erasure on the write side: which comments an EraseAuthor covers (looked up under the site's
lock, which new comments hold shared, so none of the author's slips in meanwhile), and what
follows its `author.erased`: each comment erased on its post's stream and the keys destroyed,
in the same transaction."""

from dataclasses import dataclass
from typing import Any

from service.db import Connection
from service.domain.commands import Command, EraseAuthor, EraseComment
from service.domain.state import CommentState
from service.eventstore import data_keys
from service.write import decision_state
from service.write.batches import write_commands

# The site's comments not yet erased whose author key is one of $2 (a scan of the site's rows:
# erasures are rare, and every comment would pay for an index on the hashes).
OF_AUTHORS = """
SELECT * FROM stream_comments
WHERE site = $1 AND status <> 'erased' AND coalesce(email_hash, name_ip_hash) = ANY($2::text[])
"""

# By primary key, like decision_state.LOAD_COMMENTS, with the key each is sealed with.
NAMED = """
SELECT c.* FROM unnest($2::text[]) AS w(comment_id)
CROSS JOIN LATERAL (
    SELECT * FROM stream_comments WHERE site = $1 AND comment_id = w.comment_id LIMIT 1
) AS c
WHERE c.status <> 'erased'
"""

# The cascade takes their subscriptions, pending mail and what they were told.
FORGET_MAIL = "DELETE FROM mail_recipients WHERE site = $1 AND email_hash = ANY($2::text[])"

RECORD = """
INSERT INTO erasures (site, erasure_id, requested_by, key_ids, comments, at)
VALUES ($1, $2, $3, $4, $5, $6)
"""


@dataclass(frozen=True, slots=True)
class Covered:
    """The comments an erasure covers, and the keys that sealed them."""

    comments: dict[str, CommentState]
    key_ids: frozenset[str]


async def covered(connection: Connection, command: EraseAuthor) -> Covered:
    named = [command.comment_id] if command.comment_id else []
    named += [comment_id for comment_id, _ in command.tokens]
    rows = list(await connection.fetch(NAMED, command.site, sorted(set(named)))) if named else []
    authors = {row["email_hash"] or row["name_ip_hash"] for row in rows} - {None}
    if command.email_hash is not None:
        authors.add(command.email_hash)
    if authors:
        rows += await connection.fetch(OF_AUTHORS, command.site, sorted(authors))
    found: dict[str, Any] = {row["comment_id"]: row for row in rows}
    keys = frozenset(row["data_key"] for row in found.values() if row["data_key"])
    comments = {comment_id: decision_state.comment_state(row) for comment_id, row in found.items()}
    return Covered(comments, keys)


async def carry_out(
    connection: Connection, command: EraseAuthor, erased: Covered, metadata: dict[str, Any]
) -> None:
    """After `author.erased`: erase each comment on its post's stream, destroy the keys."""
    erasures: list[Command] = [
        EraseComment(
            site=command.site, comment_id=comment_id, erasure_id=command.erasure_id, at=command.at
        )
        for comment_id in sorted(erased.comments)
    ]
    await write_commands(connection, erasures, metadata)
    owner = [data_keys.email_owner(command.email_hash)] if command.email_hash else []
    email_keys = await connection.fetch(
        "SELECT key_id FROM data_keys WHERE site = $1 AND owner = ANY($2::text[]) "
        "AND destroyed_at IS NULL",
        command.site,
        owner,
    )
    # Mail (subscriptions/mail/): the addresses, what they follow, their pending mail.
    digests = [comment.email_hash for comment in erased.comments.values()] + [command.email_hash]
    email_hashes = sorted({digest for digest in digests if digest})
    await connection.execute(FORGET_MAIL, command.site, email_hashes)
    key_ids = erased.key_ids | {row["key_id"] for row in email_keys}
    destroyed = await data_keys.destroy(connection, key_ids, command.at)
    await connection.execute(
        RECORD,
        command.site,
        command.erasure_id,
        command.requested_by.value,
        sorted(destroyed),
        len(erased.comments),
        command.at,
    )
