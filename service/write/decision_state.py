"""Loading the write side's decision state: one row per post (locked by every append to its
thread) and one row per comment, kept by the `write_model` projection. Loading it costs the
same whatever the thread's size."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.db import Connection
from service.domain.commands import (
    Command,
    CommentCommand,
    DeleteComment,
    ImportComment,
    NamesComment,
    NamesPost,
    PostComment,
)
from service.domain.events import CommentStatus
from service.domain.thread import CommentState, PostState, ThreadState
from service.eventstore.streams import lock_key, site_stream_id
from service.write.site_policy import Policy, load_policies


@dataclass(frozen=True, slots=True)
class LoadedThread:
    # The stream's version once the batch's decided events are appended.
    version: int
    # The stream's last writer before this batch, (epoch, transaction id): an append must not
    # come before it.
    last_writer: tuple[int, int]
    state: ThreadState


# Each post's appends queue on a transaction-scoped advisory lock. Unlike a row lock it takes
# no transaction id, so the id is taken by the first write, after the lock is won: ids then
# grow in each stream's commit order, which the feed's order relies on. Keys are locked in
# ascending order, so batches that share posts cannot deadlock.
# New comments hold their site's lock shared ($1), before their posts' locks ($2), while they
# read and apply its bans; a ban holds it alone (settings changes too) before looking up the
# author's comments. So a new comment either commits before the ban looks (and is removed with
# the others) or is decided after the ban (and refused). Both take the site's lock first: no
# cycle. One round trip: UNION ALL runs its branches in order (the lock functions are parallel
# restricted, so never in a worker), each in its array's order.
LOCK_STREAMS = "SELECT pg_advisory_xact_lock(key) FROM unnest($1::bigint[]) AS key"
LOCK = """
SELECT pg_advisory_xact_lock_shared(key) FROM unnest($1::bigint[]) AS key
UNION ALL
SELECT pg_advisory_xact_lock(key) FROM unnest($2::bigint[]) AS key
"""

LOAD_STREAMS = """
SELECT stream_id, version, last_epoch, last_transaction_id::text::bigint AS last_transaction_id,
       deleted, title, url, labels, published_at, closed
FROM streams WHERE stream_id = ANY($1::text[])
"""

# Each wanted comment is looked up on its own, by its primary key: a lateral subquery with a
# LIMIT is never flattened into a join, so no plan (a cached generic one made when the table
# was small included) can turn the lookups into a scan of the whole table.
LOAD_COMMENTS = """
SELECT w.site, w.comment_id, c.post_id, c.depth, c.deleted, c.delete_token_sha256, c.status,
       c.created_at, c.email_hash, c.ip_hash, c.name_ip_hash, c.reporters
FROM unnest($1::text[], $2::text[]) AS w(site, comment_id)
CROSS JOIN LATERAL (
    SELECT * FROM stream_comments WHERE site = w.site AND comment_id = w.comment_id LIMIT 1
) AS c
"""

POSTS_OF_COMMENTS = """
SELECT w.site, w.comment_id, c.post_id
FROM unnest($1::text[], $2::text[]) AS w(site, comment_id)
CROSS JOIN LATERAL (
    SELECT post_id FROM stream_comments WHERE site = w.site AND comment_id = w.comment_id
    LIMIT 1
) AS c
"""


async def posts_of_comments(
    connection: Connection, comments: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(site, comment id) -> post id. A comment never moves, so this needs no lock."""
    if not comments:
        return {}
    sites, comment_ids = zip(*comments, strict=True)
    rows = await connection.fetch(POSTS_OF_COMMENTS, list(sites), list(comment_ids))
    return {(row["site"], row["comment_id"]): row["post_id"] for row in rows}


async def load_for_update(
    connection: Connection, requests: list[tuple[str, Command]]
) -> dict[str, LoadedThread]:
    """Lock the posts' streams, then read the comments the commands touch.

    `requests` are (stream id, command). The locks come before the transaction's first write
    (see store.StaleTransactionOrder), and the state is read by later statements so that it
    includes what the locks' previous holders committed.
    """
    stream_ids = sorted({stream_id for stream_id, _ in requests})
    commenting = {command.site for _, command in requests if isinstance(command, PostComment)}
    await connection.execute(
        LOCK,
        sorted({lock_key(site_stream_id(site)) for site in commenting}),
        sorted({lock_key(stream_id) for stream_id in stream_ids}),
    )
    return await load(connection, requests)


async def load(
    connection: Connection, requests: list[tuple[str, Command]]
) -> dict[str, LoadedThread]:
    """The decision state of the commands' posts as last committed, without locks: right for
    deciding, under the locks of load_for_update; a look ahead otherwise (see prechecks.py)."""
    stream_ids = sorted({stream_id for stream_id, _ in requests})
    rows = await connection.fetch(LOAD_STREAMS, stream_ids)
    found: dict[str, Any] = {row["stream_id"]: row for row in rows}
    touched = {
        (command.site, comment_id) for _, command in requests for comment_id in touches(command)
    }
    comments: dict[tuple[str, str], CommentState] = {}
    if touched:
        sites, comment_ids = zip(*touched, strict=True)
        for found_comment in await connection.fetch(LOAD_COMMENTS, list(sites), list(comment_ids)):
            key = (found_comment["site"], found_comment["comment_id"])
            comments[key] = comment_state(found_comment)
    policies = await load_policies(connection, [command for _, command in requests])
    loaded: dict[str, LoadedThread] = {}
    for stream_id, command in requests:
        previous = loaded.get(stream_id)
        row = found.get(stream_id)
        policy = policies.get(command.site, Policy())
        state = (
            previous.state
            if previous
            else ThreadState(
                post=post_state(row),
                settings=policy.settings,
                bans=policy.bans,
                known_authors=policy.known_authors,
            )
        )
        mine = {
            c: comments[(command.site, c)]
            for c in touches(command)
            if (command.site, c) in comments
        }
        state = state.model_copy(update={"comments": state.comments | mine})
        version, last = (0, (0, 0))
        if row:
            version, last = row["version"], (row["last_epoch"], row["last_transaction_id"])
        loaded[stream_id] = LoadedThread(version, last, state)
    return loaded


def post_state(row: Any) -> PostState | None:
    if row is None:
        return None
    return PostState(
        title=row["title"],
        url=row["url"],
        labels=tuple(row["labels"]),
        published_at=row["published_at"],
        deleted=row["deleted"],
        closed=row["closed"],
    )


def comment_state(row: Any) -> CommentState:
    # Rows older than moderation know only `deleted`.
    status = CommentStatus.DELETED if row["deleted"] else CommentStatus(row["status"])
    return CommentState(
        post_id=row["post_id"],
        depth=row["depth"],
        status=status,
        delete_token_sha256=row["delete_token_sha256"],
        created_at=row["created_at"],
        email_hash=row["email_hash"],
        ip_hash=row["ip_hash"],
        name_ip_hash=row["name_ip_hash"],
        reporters=tuple(row["reporters"]),
    )


def touches(command: Command) -> Iterable[str]:
    match command:
        case PostComment(parent_id=str(parent_id)):
            yield parent_id
        case ImportComment():
            # Its own id too: an import run again finds the comment and causes nothing.
            yield command.comment_id
            if command.parent_id is not None:
                yield command.parent_id
        case DeleteComment() | CommentCommand():
            yield command.comment_id


def post_id_of(command: Command, posts_of: dict[tuple[str, str], str]) -> str | None:
    if isinstance(command, NamesComment):
        return posts_of.get((command.site, command.comment_id))
    if isinstance(command, NamesPost):
        return command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")
