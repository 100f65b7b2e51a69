"""Read models of moderation: `site_settings` (each site's policy), `bans`, and
`moderation_audit` (every moderation event, with who acted and why)."""

from service.db import Connection
from service.domain.events import (
    AuthorBanned,
    AuthorErased,
    AuthorUnbanned,
    CommentDeleted,
    CommentErased,
    CommentEvent,
    Event,
    PostEvent,
    SiteSettingsChanged,
    ThreadClosed,
    ThreadReopened,
)
from service.eventstore.codec import compact
from service.eventstore.store import RecordedEvent
from service.projections.statements import Statement, run

NAME = "moderation"
TABLES = ("site_settings", "bans", "moderation_audit")

SET_SETTINGS = """
INSERT INTO site_settings (site, settings, position) VALUES ($1, $2, $3)
ON CONFLICT (site) DO UPDATE SET settings = excluded.settings, position = excluded.position
WHERE site_settings.position < excluded.position
"""

BAN = """
INSERT INTO bans (site, ban_id, match, comment_id, expires_at, reason, created_at, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (site, ban_id) DO NOTHING
"""

LIFT = """
UPDATE bans SET lifted_at = $3, position = $4
WHERE site = $1 AND ban_id = $2 AND position < $4
"""

AUDIT = """
INSERT INTO moderation_audit (site, position, event_id, type, post_id, comment_id, actor,
                              reason, at, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (site, position) DO NOTHING
"""

AUDITED = (CommentEvent, CommentDeleted, ThreadClosed, ThreadReopened, SiteSettingsChanged,
           AuthorBanned, AuthorUnbanned, AuthorErased)  # fmt: skip

# An erased comment's edits keep their audit rows, not their text: the row a replay makes.
FORGET_EDITS = """
UPDATE moderation_audit SET data = (data - 'body' - 'body_html') || '{"erased": true}'
WHERE site = $1 AND comment_id = $2 AND type = 'comment.edited' AND NOT data ? 'erased'
"""


def actor_of(recorded: RecordedEvent) -> str:
    """An API key's id, else who acted without one (`author`, `system`)."""
    actor = recorded.metadata.get("actor") or {}
    return str(actor.get("key_id") or actor.get("kind") or "unknown")


def reason_of(event: Event) -> str | None:
    reason = getattr(event, "reason", None)
    return None if reason is None else str(reason)


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, position = recorded.event, recorded.position
    found: list[Statement] = []
    match event:
        case SiteSettingsChanged():
            found.append((SET_SETTINGS, (event.site, event.settings.model_dump_json(), position)))
        case AuthorBanned():
            ban = (event.ban_id, event.match.value, event.comment_id, event.expires_at)
            found.append((BAN, (event.site, *ban, event.reason, event.at, position)))
        case AuthorUnbanned():
            found.append((LIFT, (event.site, event.ban_id, event.at, position)))
        case CommentErased():
            found.append((FORGET_EDITS, (event.site, event.comment_id)))
    if isinstance(event, AUDITED):
        post_id = event.post_id if isinstance(event, PostEvent) else None
        comment_id = getattr(event, "comment_id", None)
        row = (event.site, position, recorded.event_id, recorded.type, post_id, comment_id)
        details = (actor_of(recorded), reason_of(event), recorded.recorded_at)
        found.append((AUDIT, (*row, *details, compact(recorded.data))))
    return found


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(connection, (statement for recorded in events for statement in statements(recorded)))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
