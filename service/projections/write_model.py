"""The write side's decision state, kept like every other read model: `streams` (each post's
fields and flags), `stream_comments` (what deciding a command about a comment needs: its post,
depth, status, token digest, author hashes, reporters), `site_streams` (each site's settings),
`site_bans` and `site_known_authors`. Each stream's row records its version and its last
writer's (epoch, transaction id), which the next append checks. The statements on the comments'
rows and the known authors are in `stream_comments.py`; which run for an event is decided here.

Every fact comes from the events, private fields included, so `threadlog rebuild` rebuilds it
from the log alone. Rows guard on the stream version of the last event applied to them: an
event applied again changes nothing.
"""

from service.access.sites import NOTIFY_CHANGED
from service.db import Connection
from service.domain.events import (
    AuthorBanned,
    AuthorUnbanned,
    CommentApproved,
    CommentEdited,
    CommentErased,
    CommentReported,
    NewComment,
    PostContent,
    PostDeleted,
    SiteEvent,
    SiteSettingsChanged,
    ThreadClosed,
    ThreadReopened,
)
from service.eventstore.store import RecordedEvent
from service.projections import threads
from service.projections.statements import Statement, run
from service.projections.stream_comments import (
    EDIT_KEY,
    FORGET,
    NEW_COMMENTS,
    REPORT,
    SET_STATUS,
    insert_comments,
    new_comment_row,
    sealed_day,
    sealed_with,
)

NAME = "write_model"
TABLES = ("streams", "stream_comments", "site_streams", "site_bans", "site_known_authors")

PUBLISH = """
INSERT INTO streams (stream_id, site, post_id, version, last_transaction_id, title, url, labels,
                     published_at, last_epoch)
VALUES ($1, $2, $3, $4, $5::text::xid8, $6, $7, $8, $9, $10)
ON CONFLICT (stream_id) DO UPDATE SET
    version = excluded.version, last_transaction_id = excluded.last_transaction_id,
    last_epoch = excluded.last_epoch,
    title = excluded.title, url = excluded.url, labels = excluded.labels,
    published_at = excluded.published_at
WHERE streams.version < excluded.version
"""

DELETE_POST = """
UPDATE streams SET deleted = true, version = $2, last_transaction_id = $3::text::xid8,
    last_epoch = $4
WHERE stream_id = $1 AND version < $2
"""

SET_CLOSED = """
UPDATE streams SET closed = $5, version = $2, last_transaction_id = $3::text::xid8,
    last_epoch = $4
WHERE stream_id = $1 AND version < $2
"""

# Only the last event of a stream in a batch needs to move the stream's version.
STREAM_VERSION = """
UPDATE streams SET version = $2, last_transaction_id = $3::text::xid8, last_epoch = $4
WHERE stream_id = $1 AND version < $2
"""


SET_SETTINGS = """
INSERT INTO site_streams (stream_id, site, version, last_transaction_id, last_epoch, settings)
VALUES ($1, $2, $3, $4::text::xid8, $5, $6)
ON CONFLICT (stream_id) DO UPDATE SET
    version = excluded.version, last_transaction_id = excluded.last_transaction_id,
    last_epoch = excluded.last_epoch, settings = excluded.settings
WHERE site_streams.version < excluded.version
"""

# A site's stream may begin with a ban: its settings stay the defaults (NULL) until changed.
SITE_VERSION = """
INSERT INTO site_streams (stream_id, site, version, last_transaction_id, last_epoch)
VALUES ($1, $2, $3, $4::text::xid8, $5)
ON CONFLICT (stream_id) DO UPDATE SET
    version = excluded.version, last_transaction_id = excluded.last_transaction_id,
    last_epoch = excluded.last_epoch
WHERE site_streams.version < excluded.version
"""

BAN = """
INSERT INTO site_bans (site, ban_id, match, hash, expires_at, hold)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (site, ban_id) DO NOTHING
"""

LIFT = "UPDATE site_bans SET lifted = true WHERE site = $1 AND ban_id = $2"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, version = recorded.event, recorded.version
    stream = stream_row(recorded)
    match event:
        case PostContent():
            post = (event.title, event.url, list(event.labels), event.published_at)
            row = (recorded.stream_id, event.site, event.post_id, version)
            return [(PUBLISH, (*row, str(recorded.transaction_id), *post, recorded.epoch))]
        case PostDeleted():
            return [(DELETE_POST, stream)]
        case ThreadClosed() | ThreadReopened():
            return [(SET_CLOSED, (*stream, isinstance(event, ThreadClosed)))]
        case NewComment():
            keys = (sealed_with(recorded), sealed_day(recorded))
            return [(NEW_COMMENTS, new_comment_row(event, version, *keys))]
        case CommentEdited() if sealed_with(recorded) is not None:
            return [(EDIT_KEY, (event.site, event.comment_id, sealed_with(recorded)))]
        case CommentReported() if event.reporter_hash is not None or sealed_day(recorded):
            day = sealed_day(recorded)
            return [(REPORT, (event.site, event.comment_id, event.reporter_hash, version, day))]
        case SiteSettingsChanged():
            settings = event.settings.model_dump_json()
            # Every process forgets the site's cached settings once this commits.
            return [
                (SET_SETTINGS, (*site_stream(recorded), settings)),
                (NOTIFY_CHANGED, (event.site,)),
            ]
        case AuthorBanned():
            ban = (event.ban_id, event.match.value, event.author_hash, event.expires_at)
            return [(BAN, (event.site, *ban, event.hold))]
        case AuthorUnbanned():
            return [(LIFT, (event.site, event.ban_id))]
    change = threads.status_change(event)
    if change is None:
        return []
    comment_id, status, _, _ = change
    dismissed = isinstance(event, CommentApproved)
    found: list[Statement] = [
        (SET_STATUS, (event.site, comment_id, status.value, version, dismissed))
    ]
    if isinstance(event, CommentErased):
        found.append((FORGET, (event.site, comment_id)))
    return found


def stream_row(recorded: RecordedEvent) -> tuple[object, ...]:
    """A post's stream's new version and last writer."""
    return (recorded.stream_id, recorded.version, str(recorded.transaction_id), recorded.epoch)


def site_stream(recorded: RecordedEvent) -> tuple[object, ...]:
    site = recorded.event.site
    writer = (str(recorded.transaction_id), recorded.epoch)
    return (recorded.stream_id, site, recorded.version, *writer)


def versions(events: list[RecordedEvent]) -> list[Statement]:
    """Each stream's version and last writer, from the last of its events in the batch."""
    last = {recorded.stream_id: recorded for recorded in events}
    moves: list[Statement] = []
    for recorded in last.values():
        if isinstance(recorded.event, SiteEvent):
            moves.append((SITE_VERSION, site_stream(recorded)))
        else:
            moves.append((STREAM_VERSION, stream_row(recorded)))
    return sorted(moves)


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(
        connection,
        [s for recorded in events for s in statements(recorded)],
        {NEW_COMMENTS: insert_comments},
    )
    await run(connection, versions(events))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
