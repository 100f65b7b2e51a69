"""The write side's decision state, kept like every other read model: `streams` (each post's
fields and flags), `stream_comments` (what deciding a command about a comment needs: its post,
depth, status, token digest, author hashes, reporters), `site_streams` (each site's settings),
`site_bans` and `site_known_authors`. Each stream's row records its version and its last
writer's (epoch, transaction id), which the next append checks.

Every fact comes from the events, private fields included, so `threadlog rebuild` rebuilds it
from the log alone. Rows guard on the stream version of the last event applied to them: an
event applied again changes nothing.
"""

from itertools import groupby

from service.access.sites import NOTIFY_CHANGED
from service.db import Connection
from service.domain.events import (
    AuthorBanned,
    AuthorUnbanned,
    CommentApproved,
    CommentEdited,
    CommentErased,
    CommentPosted,
    CommentReplied,
    CommentReported,
    NewComment,
    PostContent,
    PostDeleted,
    SiteEvent,
    SiteSettingsChanged,
    ThreadClosed,
    ThreadReopened,
)
from service.eventstore.codec import IP, PRIVATE, SEALED
from service.eventstore.store import RecordedEvent
from service.projections import threads
from service.projections.statements import Statement, insert_new, json_rows, run, unguarded

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

# A new comment is published at first; the hold that a screening check appends right after it
# (the stream's next version) takes it back, with the author's known status (SET_STATUS).
# A parent that is missing (an import's orphan) counts as top level. New comments go in as one
# set per run of them (`insert_comments`); an author becomes known by their first new comment.
# $2 holds the rows (`json_rows`), each [comment id, post id, depth, delete token (hex),
# created at, email hash, IP hash, name-and-IP hash, version, data key, IP day], each comment
# once (so the order they go in changes nothing; which comment made an author known does).
NEW_COMMENTS = """
WITH rows AS (
    SELECT r, n FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS w(r, n)
), inserted AS (
    INSERT INTO stream_comments (site, comment_id, post_id, depth, delete_token_sha256, status,
                                 deleted, created_at, email_hash, ip_hash, name_ip_hash,
                                 version, row_version, data_key, ip_day)
    SELECT $1, r->>0, r->>1, (r->>2)::int, decode(r->>3, 'hex'), 'published', false,
           (r->>4)::timestamptz, r->>5, r->>6, r->>7, (r->>8)::int, (r->>8)::int, r->>9, r->>10
    FROM rows
    ON CONFLICT (site, comment_id) DO NOTHING
    RETURNING comment_id, coalesce(email_hash, name_ip_hash) AS author_key
)
INSERT INTO site_known_authors (site, author_key, comment_id)
SELECT DISTINCT ON (i.author_key) $1, i.author_key, i.comment_id
FROM inserted i JOIN rows ON rows.r->>0 = i.comment_id
WHERE i.author_key IS NOT NULL
ORDER BY i.author_key, rows.n
ON CONFLICT (site, author_key) DO NOTHING
"""
FRESH_COMMENTS = unguarded(NEW_COMMENTS, "ON CONFLICT (site, comment_id) DO NOTHING")

# Each parent by its primary key, on its own (see threads.PARENTS).
DEPTHS = """
SELECT w.comment_id, c.depth
FROM unnest($2::text[]) AS w(comment_id)
CROSS JOIN LATERAL (
    SELECT depth FROM stream_comments WHERE site = $1 AND comment_id = w.comment_id LIMIT 1
) AS c
"""

# A comment held right at its birth never made its author known; one published again by a
# moderator (approved, restored) does. Approval also dismisses the reports.
SET_STATUS = """
WITH changed AS (
    UPDATE stream_comments
    SET status = $3, deleted = $3 = 'deleted', row_version = $4,
        reporters = CASE WHEN $5 THEN '{}' ELSE reporters END,
        reporter_days = CASE WHEN $5 THEN '{}' ELSE reporter_days END
    WHERE site = $1 AND comment_id = $2 AND row_version < $4
    RETURNING site, comment_id, coalesce(email_hash, name_ip_hash) AS author_key, version
), forgotten AS (
    DELETE FROM site_known_authors k USING changed
    WHERE $3 = 'held' AND changed.version = $4 - 1
      AND k.site = changed.site AND k.author_key = changed.author_key
      AND k.comment_id = changed.comment_id
)
INSERT INTO site_known_authors (site, author_key, comment_id)
SELECT site, author_key, comment_id FROM changed
WHERE $3 = 'published' AND author_key IS NOT NULL
ON CONFLICT (site, author_key) DO NOTHING
"""

# An erased comment's author is forgotten: no hash of theirs is left to match or count (every
# comment of theirs is erased with it, so none keeps them known).
FORGET = """
WITH erased AS (
    UPDATE stream_comments SET email_hash = NULL, ip_hash = NULL, name_ip_hash = NULL
    WHERE site = $1 AND comment_id = $2
    RETURNING site, comment_id
)
DELETE FROM site_known_authors k USING erased
WHERE k.site = erased.site AND k.comment_id = erased.comment_id
"""

# A comment written before keys were learns the key its first edit made.
EDIT_KEY = """
UPDATE stream_comments SET data_key = $3
WHERE site = $1 AND comment_id = $2 AND data_key IS NULL
"""

# A report whose digest is no longer kept (its day's key destroyed) counts nothing more.
REPORT = """
UPDATE stream_comments
SET reporters = CASE WHEN $3::text IS NULL THEN reporters ELSE reporters || $3::text END,
    reporter_days = CASE WHEN $3::text IS NULL THEN reporter_days
                         ELSE reporter_days || $5::text END,
    row_version = $4
WHERE site = $1 AND comment_id = $2 AND row_version < $4
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


def sealed_with(recorded: RecordedEvent) -> str | None:
    """The data key an event's personal fields are sealed with."""
    box = (recorded.metadata.get(PRIVATE) or {}).get(SEALED)
    return None if box is None else str(box["key"])


def sealed_day(recorded: RecordedEvent) -> str | None:
    """The day key an event's IP digest is sealed with."""
    box = (recorded.metadata.get(PRIVATE) or {}).get(IP)
    return None if box is None else str(box["day"])


def new_comment_row(
    event: NewComment, version: int, data_key: str | None, ip_day: str | None
) -> tuple[object, ...]:
    parent_id = event.parent_id if isinstance(event, CommentReplied) else None
    depth_without_parent = 0 if isinstance(event, CommentPosted) else 1
    hashes = (event.author_email_hash, event.author_ip_hash, event.author_name_ip_hash)
    row = (event.site, event.comment_id, event.post_id, parent_id, depth_without_parent)
    sealed = (data_key, ip_day)
    return (*row, event.delete_token_sha256, event.created_at, *hashes, version, *sealed)


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


async def insert_comments(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """New comments (the arguments of NEW_COMMENTS' statements), in order, as if one by one."""
    for site, group in groupby(rows, key=lambda row: row[0]):
        await insert_site_comments(connection, str(site), list(group))


async def insert_site_comments(
    connection: Connection, site: str, rows: list[tuple[object, ...]]
) -> None:
    named = sorted({str(row[3]) for row in rows if row[3] is not None})
    # comment id -> depth, of the rows that exist and then of the new ones.
    depths: dict[str, int] = {}
    if named:
        for found in await connection.fetch(DEPTHS, site, named):
            depths[found["comment_id"]] = found["depth"]
    new: list[tuple[object, ...]] = []
    for _, comment_id, post_id, parent_id, without_parent, token, *rest in rows:
        comment_id = str(comment_id)
        if comment_id in depths:
            continue  # exists, or came earlier in this run
        parent_depth = depths.get(str(parent_id)) if parent_id is not None else None
        depth = int(str(without_parent)) if parent_depth is None else parent_depth + 1
        depths[comment_id] = depth
        hex_token = token.hex() if isinstance(token, bytes) else None
        new.append((comment_id, post_id, depth, hex_token, *rest))
    if new:
        await insert_new(connection, NEW_COMMENTS, FRESH_COMMENTS, site, json_rows(new))


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(
        connection,
        [s for recorded in events for s in statements(recorded)],
        {NEW_COMMENTS: insert_comments},
    )
    await run(connection, versions(events))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
