"""From the log to the outbox: which events mail whom. Runs in the transaction that advances
the mail checkpoint, so each event is turned into mail exactly once.

Readers are told of replies to their comments once those replies are published (at once, or
when a moderator approves them), once per reply; moderators of what their `notify_on` asks for.
What a mail says is read when it is sent (see compose.py): a comment deleted or erased by then
is left out.
"""

from dataclasses import dataclass

from service.db import Connection
from service.domain.events import (
    CommentApproved,
    CommentHeld,
    CommentPosted,
    CommentReplied,
    CommentReported,
)
from service.domain.policy import NotifyOn
from service.eventstore.store import RecordedEvent
from service.read import moderation as moderation_reads

DIGEST_SECONDS = 24 * 3600


class Kind:
    CONFIRM = "confirm"
    REPLIES = "replies"
    MODERATION = "moderation"


@dataclass(frozen=True, slots=True)
class Gathering:
    """How long a mail waits for more of its kind before it goes."""

    reply_seconds: float


STATUS = (
    "SELECT status, parent_id, post_id FROM thread_comments WHERE site = $1 AND comment_id = $2"
)
AUTHOR = "SELECT email_hash FROM stream_comments WHERE site = $1 AND comment_id = $2"

# The parent's subscribers who may be told (confirmed, not bounced, not unsubscribed from the
# site) and were not told of this reply yet, except its own author.
TELL = """
WITH told AS (
    INSERT INTO mail_told (site, comment_id, email_hash)
    SELECT s.site, $2, s.email_hash
    FROM mail_subscriptions s
    JOIN mail_recipients r ON r.site = s.site AND r.email_hash = s.email_hash
    WHERE s.site = $1 AND s.comment_id = $3 AND s.email_hash IS DISTINCT FROM $4
      AND r.confirmed_at IS NOT NULL AND r.bounced_at IS NULL AND r.site_unsubscribed_at IS NULL
    ON CONFLICT DO NOTHING
    RETURNING email_hash
)
SELECT r.email_hash, r.address, r.language
FROM told JOIN mail_recipients r ON r.site = $1 AND r.email_hash = told.email_hash
"""

# A mail of this kind to this address (about this post) still gathering takes the item.
JOIN_GATHERING = """
UPDATE mail_outbox SET items = array_append(items, $5)
WHERE mail_id = (
    SELECT mail_id FROM mail_outbox
    WHERE site = $1 AND kind = $2 AND address = $3 AND post_id IS NOT DISTINCT FROM $4
      AND state = 'pending' AND attempts = 0 AND due_at > now() AND NOT $5 = ANY(items)
    ORDER BY mail_id LIMIT 1
)
RETURNING mail_id
"""
NEW_MAIL = """
INSERT INTO mail_outbox (site, kind, email_hash, address, language, post_id, items, due_at,
                         next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, ARRAY[$7], now() + make_interval(secs => $8),
        now() + make_interval(secs => $8))
"""


async def gather(
    connection: Connection,
    site: str,
    kind: str,
    address: str,
    language: str,
    item: str,
    seconds: float,
    email_hash: str | None = None,
    post_id: str | None = None,
) -> None:
    joined = await connection.fetchval(JOIN_GATHERING, site, kind, address, post_id, item)
    if joined is None:
        await connection.execute(
            NEW_MAIL, site, kind, email_hash, address, language, post_id, item, seconds
        )


async def enqueue(
    connection: Connection, events: list[RecordedEvent], gathering: Gathering
) -> None:
    for recorded in events:
        await enqueue_one(connection, recorded, gathering)


async def enqueue_one(
    connection: Connection, recorded: RecordedEvent, gathering: Gathering
) -> None:
    event = recorded.event
    match event:
        case CommentReplied() if not event.erased:
            await tell_readers(connection, event.site, event.comment_id, gathering)
            await tell_moderators(connection, event.site, event.comment_id, NotifyOn.ALL)
        case CommentPosted():
            await tell_moderators(connection, event.site, event.comment_id, NotifyOn.ALL)
        case CommentApproved():
            await tell_readers(connection, event.site, event.comment_id, gathering)
        case CommentHeld():
            await tell_moderators(connection, event.site, event.comment_id, NotifyOn.HELD)
        case CommentReported():
            await tell_moderators(connection, event.site, event.comment_id, NotifyOn.REPORTED)


async def tell_readers(
    connection: Connection, site: str, comment_id: str, gathering: Gathering
) -> None:
    """Tell the parent's author of a published reply (a held one is told when approved)."""
    row = await connection.fetchrow(STATUS, site, comment_id)
    if row is None or row["status"] != "published" or row["parent_id"] is None:
        return
    author = await connection.fetchval(AUTHOR, site, comment_id)
    readers = await connection.fetch(TELL, site, comment_id, row["parent_id"], author)
    for reader in readers:
        await gather(
            connection,
            site,
            Kind.REPLIES,
            reader["address"],
            reader["language"],
            comment_id,
            gathering.reply_seconds,
            email_hash=reader["email_hash"],
            post_id=row["post_id"],
        )


# Which events each `notify_on` mails moderators of.
WANTED = {
    NotifyOn.HELD: {NotifyOn.HELD},
    NotifyOn.REPORTED: {NotifyOn.HELD, NotifyOn.REPORTED},
    NotifyOn.ALL: {NotifyOn.HELD, NotifyOn.REPORTED, NotifyOn.ALL},
}


async def tell_moderators(
    connection: Connection, site: str, comment_id: str, occasion: NotifyOn
) -> None:
    settings = await moderation_reads.settings(connection, site)
    if not settings.notify_emails or occasion not in WANTED[settings.notify_on]:
        return
    if occasion is NotifyOn.ALL:
        # A new comment held is told of by its comment.held.
        row = await connection.fetchrow(STATUS, site, comment_id)
        if row is None or row["status"] == "held":
            return
    seconds = DIGEST_SECONDS if settings.notify_digest else 0
    for address in settings.notify_emails:
        await gather(
            connection,
            site,
            Kind.MODERATION,
            address,
            settings.mail_language.value,
            comment_id,
            seconds,
        )
