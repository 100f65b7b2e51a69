"""The write side's rows about comments, part of the `write_model` projection, read to decide a
command about a comment. `stream_comments` holds one per comment: its post and what the checks
compare with (the depth a reply nests below, its status, the digest a delete token must match,
its author's hashes, the reports counted against it), the key its personal fields are sealed
with (an edit seals with the same one) and the days its IP digest and reports date from (which
retention forgets). `site_known_authors` holds one of each author's published comments on a
site: a site that holds first-time authors' comments lets a known author's through.
"""

from itertools import groupby

from service.db import Connection
from service.domain.events import CommentPosted, CommentReplied, NewComment
from service.eventstore.codec import IP, PRIVATE, SEALED
from service.eventstore.store import RecordedEvent
from service.projections.statements import insert_new, json_rows, unguarded

# A new comment is published at first; the hold that a screening check appends right after it
# (the stream's next version) takes it back, with the author's known status (SET_STATUS).
# New comments go in as one set per run of them (`insert_comments`); an author becomes known by
# their first new comment. $2 holds the rows (`json_rows`), each [comment id, post id, anchor,
# steps, delete token (hex), created at, email hash, IP hash, name-and-IP hash, version, data
# key, IP day], each comment once (so the order they go in changes nothing; which comment made
# an author known does). A comment's depth is its anchor's plus its steps below it: the anchor
# is the nearest ancestor from before this run, looked up here by its primary key (rather than
# in a round trip of its own, in the stream's locked section), and a missing one (an import's
# orphan) counts as the top: depth 0.
NEW_COMMENTS = """
WITH rows AS (
    SELECT r, n FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS w(r, n)
), inserted AS (
    INSERT INTO stream_comments (site, comment_id, post_id, depth, delete_token_sha256, status,
                                 deleted, created_at, email_hash, ip_hash, name_ip_hash,
                                 version, row_version, data_key, ip_day)
    SELECT $1, r->>0, r->>1,
           coalesce((SELECT a.depth FROM stream_comments a
                     WHERE a.site = $1 AND a.comment_id = r->>2), 0) + (r->>3)::int,
           decode(r->>4, 'hex'), 'published', false,
           (r->>5)::timestamptz, r->>6, r->>7, r->>8, (r->>9)::int, (r->>9)::int, r->>10, r->>11
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


async def insert_comments(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """New comments (the arguments of NEW_COMMENTS' statements), in order, as if one by one."""
    for site, group in groupby(rows, key=lambda row: row[0]):
        await insert_site_comments(connection, str(site), list(group))


async def insert_site_comments(
    connection: Connection, site: str, rows: list[tuple[object, ...]]
) -> None:
    # comment id -> (anchor, steps) of the run's comments: where each one's depth counts from.
    places: dict[str, tuple[object, int]] = {}
    new: list[tuple[object, ...]] = []
    for _, comment_id, post_id, parent_id, without_parent, token, *rest in rows:
        comment_id = str(comment_id)
        if comment_id in places:
            continue  # came earlier in this run
        if parent_id is None:
            anchor, steps = None, int(str(without_parent))
        elif str(parent_id) in places:
            anchor, parent_steps = places[str(parent_id)]
            steps = parent_steps + 1
        else:
            anchor, steps = parent_id, 1
        places[comment_id] = (anchor, steps)
        hex_token = token.hex() if isinstance(token, bytes) else None
        new.append((comment_id, post_id, anchor, steps, hex_token, *rest))
    await insert_new(connection, NEW_COMMENTS, FRESH_COMMENTS, site, json_rows(new))
