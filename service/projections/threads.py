"""Read model `thread_comments`: every comment of every thread, nested by `ancestors`.

A deleted post's thread keeps its rows: reads answer 410 from `posts` before looking here,
and so any event of the thread applied again, in any order, finds its row and changes nothing.
A comment's `status` (published, held, rejected, deleted) is kept apart from its flags
(`report_count`); only a published comment is visible. A hidden comment keeps its row and its
text (a moderator may restore it) and is shown as a tombstone while `live_descendants > 0`,
that is while some reply below it is still visible. Only hidden comments keep that count (a
published one holds 0): a reply adds to its hidden ancestors alone, so replies to a popular
comment never write its row (they would queue on its lock and bloat it), and a comment counts
its published replies once, when it turns hidden. `row_position` is the last event applied
to the row's status or text: an older one applied again changes nothing.
"""

from collections import Counter
from itertools import groupby

from service.db import Connection
from service.domain.events import (
    CommentApproved,
    CommentDeleted,
    CommentEdited,
    CommentErased,
    CommentHeld,
    CommentRejected,
    CommentReplied,
    CommentReported,
    CommentRestored,
    CommentStatus,
    DeletedBy,
    Event,
    NewComment,
)
from service.eventstore.store import RecordedEvent
from service.projections.statements import Statement, insert_new, json_rows, run, unguarded

NAME = "threads"
TABLES = ("thread_comments",)

# New comments go in as one set per run of them (`insert_comments`). Each key is looked up on
# its own (a lateral subquery that cannot be flattened into a join), so every lookup is a
# primary-key probe whatever the plan and the table's size.
# `hidden`: the parent and those of its ancestors that are hidden, whose counts a reply adds to
# (each looked up on its own too: `= ANY(array)` may get a plan that scans the table).
PARENTS = """
SELECT w.comment_id, t.root_id, t.ancestors, t.hidden
FROM unnest($2::text[]) AS w(comment_id)
CROSS JOIN LATERAL (
    SELECT p.root_id, p.ancestors,
           ARRAY(SELECT l.comment_id
                 FROM unnest(p.ancestors || p.comment_id) WITH ORDINALITY AS l(comment_id, n)
                 CROSS JOIN LATERAL (
                     SELECT status FROM thread_comments
                     WHERE site = $1 AND comment_id = l.comment_id LIMIT 1
                 ) AS a
                 WHERE a.status <> 'published' ORDER BY l.n) AS hidden
    FROM thread_comments p
    WHERE p.site = $1 AND p.comment_id = w.comment_id LIMIT 1
) AS t
"""

# A row that exists already is skipped, and then its ancestors are not counted again. $2 holds
# the rows (`json_rows`), each [comment id, post id, parent id, root id, ancestors, position,
# author name, author website, body html, created at, author key], each comment once (so the
# order they go in changes nothing, and sorting them would cost a replay for nothing).
INSERT_COMMENTS = """
INSERT INTO thread_comments (site, comment_id, post_id, parent_id, root_id, ancestors,
                             position, author_name, author_website, body_html, created_at,
                             row_position, status_at, author_key)
SELECT $1, r->>0, r->>1, r->>2, r->>3, ARRAY(SELECT jsonb_array_elements_text(r->4)),
       (r->>5)::bigint, r->>6, r->>7, r->>8, (r->>9)::timestamptz, (r->>5)::bigint,
       (r->>9)::timestamptz, r->>10
FROM jsonb_array_elements($2::jsonb) AS w(r)
ON CONFLICT (site, comment_id) DO NOTHING
RETURNING comment_id
"""
INSERT_FRESH_COMMENTS = unguarded(INSERT_COMMENTS, "ON CONFLICT (site, comment_id) DO NOTHING")

# One update per hidden ancestor, by its primary key, adding every new reply below it at once.
# (One statement joining the batch's ancestors would be planned as a scan of the whole table
# once the batch is big enough.)
COUNT_DESCENDANTS = """
UPDATE thread_comments SET live_descendants = live_descendants + $3
WHERE site = $1 AND comment_id = $2
"""

# A visible comment that turns hidden (or back) changes its hidden ancestors' count of live
# replies. One that turns hidden counts its published replies: they come after it in its root's
# replies, read through (site, root_id, position); one published again forgets its count.
SET_STATUS = """
WITH old AS (
    SELECT status, root_id, position FROM thread_comments
    WHERE site = $1 AND comment_id = $2 AND row_position < $3
    FOR UPDATE
), changed AS (
    UPDATE thread_comments t
    SET status = $4, status_reason = $5, row_position = $3, status_at = $6,
        deleted_by = CASE WHEN $4 IN ('deleted', 'erased') THEN $7 END,
        report_count = CASE WHEN $8 THEN 0 ELSE t.report_count END,
        live_descendants = CASE
            WHEN $4 = 'published' THEN 0
            WHEN old.status <> 'published' THEN t.live_descendants
            ELSE (SELECT count(*) FROM thread_comments d
                  WHERE d.site = $1 AND d.root_id = old.root_id AND d.position > old.position
                    AND d.status = 'published' AND $2 = ANY(d.ancestors))
        END
    FROM old
    WHERE t.site = $1 AND t.comment_id = $2
    RETURNING t.ancestors,
              ($4 = 'published')::int - (old.status = 'published')::int AS delta
)
UPDATE thread_comments t SET live_descendants = t.live_descendants + (SELECT delta FROM changed)
WHERE t.site = $1 AND t.comment_id = ANY((SELECT ancestors FROM changed)::text[])
  AND (SELECT delta FROM changed) <> 0 AND t.status <> 'published'
"""

EDIT = """
UPDATE thread_comments SET body_html = $3, edited_at = $4, row_position = $5
WHERE site = $1 AND comment_id = $2 AND row_position < $5
"""

# An erased comment keeps its place (a tombstone while replies hang below it), nothing of its
# author: the same row a replay makes from its events, whose sealed fields no longer open.
FORGET = """
UPDATE thread_comments
SET author_name = '', author_website = NULL, body_html = '', author_key = NULL
WHERE site = $1 AND comment_id = $2
"""

REPORT = """
UPDATE thread_comments SET report_count = report_count + 1, row_position = $3
WHERE site = $1 AND comment_id = $2 AND row_position < $3
"""


def status_change(event: Event) -> tuple[str, CommentStatus, str | None, str | None] | None:
    """(comment id, new status, reason, deleted by) for the events that set a status."""
    match event:
        case CommentHeld():
            return event.comment_id, CommentStatus.HELD, event.reason.value, None
        case CommentApproved() | CommentRestored():
            return event.comment_id, CommentStatus.PUBLISHED, None, None
        case CommentRejected():
            return event.comment_id, CommentStatus.REJECTED, event.reason.value, None
        case CommentDeleted():
            return event.comment_id, CommentStatus.DELETED, event.reason, event.by.value
        case CommentErased():
            return event.comment_id, CommentStatus.ERASED, None, DeletedBy.AUTHOR.value
    return None


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, position = recorded.event, recorded.position
    match event:
        case NewComment():
            parent_id = event.parent_id if isinstance(event, CommentReplied) else None
            author = event.author
            row = (event.site, event.comment_id, event.post_id, parent_id, position)
            shown = (author.name, author.website, event.body_html, event.created_at)
            return [(INSERT_COMMENTS, (*row, *shown, event.author_key))]
        case CommentEdited():
            edit = (event.body_html, event.edited_at, position)
            return [(EDIT, (event.site, event.comment_id, *edit))]
        case CommentReported():
            return [(REPORT, (event.site, event.comment_id, position))]
    change = status_change(event)
    if change is None:
        return []
    comment_id, status, reason, deleted_by = change
    arguments = (event.site, comment_id, position, status.value, reason, recorded.recorded_at)
    dismissed = isinstance(event, CommentApproved)
    found: list[Statement] = [(SET_STATUS, (*arguments, deleted_by, dismissed))]
    if isinstance(event, CommentErased):
        found.append((FORGET, (event.site, comment_id)))
    return found


async def insert_comments(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """New comments (the arguments of INSERT_COMMENTS' statements), in order, as if one by one:
    a reply's parent may come earlier in `rows`; a parent that is missing makes a top level."""
    for site, group in groupby(rows, key=lambda row: row[0]):
        await insert_site_comments(connection, str(site), list(group))


async def insert_site_comments(
    connection: Connection, site: str, rows: list[tuple[object, ...]]
) -> None:
    named = sorted({str(row[3]) for row in rows if row[3] is not None})
    # comment id -> (root id, ancestors), of the rows that exist and then of the new ones.
    known: dict[str, tuple[str, list[str]]] = {}
    # comment id -> the hidden comments among it and its ancestors (a new one is published).
    hidden: dict[str, list[str]] = {}
    if named:
        for found in await connection.fetch(PARENTS, site, named):
            known[found["comment_id"]] = (found["root_id"], list(found["ancestors"]))
            hidden[found["comment_id"]] = list(found["hidden"])
    new: list[tuple[object, ...]] = []
    for _, comment_id, post_id, parent_id, position, *shown, author_key in rows:
        comment_id = str(comment_id)
        if comment_id in known:
            continue  # exists (a parent found above), or came earlier in this run
        parent = known.get(str(parent_id)) if parent_id is not None else None
        root_id, ancestors = (
            (parent[0], [*parent[1], str(parent_id)]) if parent else (comment_id, [])
        )
        known[comment_id] = (root_id, ancestors)
        hidden[comment_id] = hidden[str(parent_id)] if parent else []
        new.append((comment_id, post_id, parent_id, root_id, ancestors, position,
                    *shown, author_key))  # fmt: skip
    if not new:
        return
    inserted = await insert_new(
        connection, INSERT_COMMENTS, INSERT_FRESH_COMMENTS, site, json_rows(new)
    )
    added = Counter(ancestor for row in inserted for ancestor in hidden[row["comment_id"]])
    if added:
        await connection.executemany(
            COUNT_DESCENDANTS, [(site, key, added[key]) for key in sorted(added)]
        )


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(
        connection,
        (statement for recorded in events for statement in statements(recorded)),
        {INSERT_COMMENTS: insert_comments},
    )


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
