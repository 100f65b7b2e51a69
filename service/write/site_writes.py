"""Writing to a site's own stream (`site:<site>`): its settings, its bans and its erasures.

Rare, so not batched: one command, one transaction. It takes the site's lock first, which new
comments hold shared (decision_state.LOCK), so a ban sees every comment decided before it
and every comment decided after it sees the ban. A ban that removes its author's comments
rejects them on their posts' streams in the same transaction, with those posts' locks taken
at once, in one order, before the first write.
"""

from typing import Any

from service.db import Connection
from service.domain.commands import (
    BanAuthor,
    Command,
    EraseAuthor,
    RejectComment,
    SiteCommand,
    UnbanAuthor,
)
from service.domain.events import RejectReason
from service.domain.site import decide_site
from service.domain.state import BanState, CommentState, SiteState
from service.eventstore import appends
from service.eventstore.appends import NewEvent
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import lock_key, post_stream_id, site_stream_id
from service.projections import apply_all
from service.write import decision_state, erasures
from service.write.batches import write_commands
from service.write.site_policy import load_settings

LOAD = """
SELECT version, last_epoch, last_transaction_id::text::bigint AS last_transaction_id
FROM site_streams WHERE stream_id = $1
"""

LOAD_BAN = """
SELECT ban_id, match, hash, expires_at, hold, lifted FROM site_bans
WHERE site = $1 AND ban_id = $2
"""

# The author's comments that are still to be seen or decided, for a ban that removes them.
AUTHOR_COMMENTS = """
SELECT comment_id, post_id FROM stream_comments
WHERE site = $1 AND status IN ('published', 'held')
  AND CASE $2 WHEN 'email' THEN email_hash WHEN 'ip' THEN ip_hash ELSE name_ip_hash END = $3
ORDER BY comment_id
"""


async def write(
    connection: Connection,
    command: SiteCommand,
    metadata: dict[str, Any],
) -> list[RecordedEvent]:
    stream_id = site_stream_id(command.site)
    # The site's lock first, alone, before looking up the author's comments (decision_state.LOCK).
    await connection.execute(decision_state.LOCK_STREAMS, [lock_key(stream_id)])
    comment = None
    removals: list[tuple[str, str]] = []
    if isinstance(command, BanAuthor):
        comment = await load_comment(connection, command.site, command.comment_id)
        author_hash = comment.hash_for(command.match) if comment else None
        if command.remove_comments and author_hash is not None:
            rows = await connection.fetch(
                AUTHOR_COMMENTS, command.site, command.match.value, author_hash
            )
            removals = [(row["comment_id"], row["post_id"]) for row in rows]
    erased = None
    if isinstance(command, EraseAuthor):
        erased = await erasures.covered(connection, command)
        removals = [(comment_id, c.post_id) for comment_id, c in erased.comments.items()]
    streams = {stream_id} | {post_stream_id(command.site, post) for _, post in removals}
    await connection.execute(decision_state.LOCK_STREAMS, sorted({lock_key(s) for s in streams}))
    row = await connection.fetchrow(LOAD, stream_id)
    version, last = (0, (0, 0))
    if row:
        version, last = row["version"], (row["last_epoch"], row["last_transaction_id"])
    settings = (await load_settings(connection, [command.site])).get(command.site)
    state = SiteState() if settings is None else SiteState(settings=settings)
    if isinstance(command, BanAuthor) and comment is not None:
        state = state.model_copy(update={"comments": {command.comment_id: comment}})
    if erased is not None:
        state = state.model_copy(update={"comments": erased.comments})
    if isinstance(command, UnbanAuthor):
        ban = await load_ban(connection, command.site, command.ban_id)
        state = state.model_copy(update={"bans": {ban.ban_id: ban} if ban else {}})
    events = decide_site(command, state)
    if not events:
        return []
    new_events = [
        NewEvent(stream_id, version + number, command.site, event, metadata)
        for number, event in enumerate(events, start=1)
    ]
    recorded = await appends.append(connection, new_events, {stream_id: last})
    await apply_all(connection, recorded)
    if isinstance(command, EraseAuthor) and erased is not None:
        await erasures.carry_out(connection, command, erased, metadata)
    if removals and isinstance(command, BanAuthor):
        rejections: list[Command] = [
            RejectComment(
                site=command.site,
                comment_id=comment_id,
                reason=RejectReason.OTHER,
                detail=f"removed with ban {command.ban_id}",
                at=command.at,
            )
            for comment_id, _ in removals
        ]
        await write_commands(connection, rejections, metadata)
    return recorded


async def load_comment(connection: Connection, site: str, comment_id: str) -> CommentState | None:
    rows = await connection.fetch(decision_state.LOAD_COMMENTS, [site], [comment_id])
    return decision_state.comment_state(rows[0]) if rows else None


async def load_ban(connection: Connection, site: str, ban_id: str) -> BanState | None:
    row = await connection.fetchrow(LOAD_BAN, site, ban_id)
    if row is None:
        return None
    return BanState(
        ban_id=row["ban_id"],
        match=row["match"],
        author_hash=row["hash"],
        expires_at=row["expires_at"],
        hold=row["hold"],
        lifted=row["lifted"],
    )
