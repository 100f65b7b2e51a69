"""Read model `thread_comments`: every comment of every thread, nested by `ancestors`.

A deleted post's thread keeps its rows: reads answer 410 from `posts` before looking here,
and so any event of the thread applied again, in any order, finds its row and changes nothing.
A comment's `status` (published, held, rejected, deleted) is kept apart from its flags
(`report_count`); only a published comment is visible. A hidden comment keeps its row and its
text (a moderator may restore it) and is shown as a tombstone while `live_descendants > 0`,
that is while some reply below it is still visible. `row_position` is the last event applied
to the row's status or text: an older one applied again changes nothing.
"""

from service.db import Connection
from service.domain.events import (
    CommentApproved,
    CommentDeleted,
    CommentEdited,
    CommentHeld,
    CommentRejected,
    CommentReplied,
    CommentReported,
    CommentRestored,
    CommentStatus,
    Event,
    NewComment,
)
from service.eventstore.store import RecordedEvent
from service.projections.statements import Statement, run

NAME = "threads"
TABLES = ("thread_comments",)

# The insert is skipped when the row exists, and then the ancestors are not counted again.
# Ancestors are joined one by one, so each is a primary-key lookup whatever the statistics say.
INSERT_COMMENT = """
WITH parent AS (
    SELECT root_id, ancestors || comment_id AS ancestors
    FROM thread_comments WHERE site = $1 AND comment_id = $4
), inserted AS (
    INSERT INTO thread_comments (site, comment_id, post_id, parent_id, root_id, ancestors,
                                 position, author_name, author_website, body_html, created_at,
                                 row_position, status_at, author_key)
    SELECT $1, $2, $3, $4,
           coalesce((SELECT root_id FROM parent), $2),
           coalesce((SELECT ancestors FROM parent), '{}'),
           $5, $6, $7, $8, $9, $5, $9, $10
    ON CONFLICT (site, comment_id) DO NOTHING
    RETURNING ancestors
)
UPDATE thread_comments t SET live_descendants = t.live_descendants + 1
FROM inserted, unnest(inserted.ancestors) AS ancestor(comment_id)
WHERE t.site = $1 AND t.comment_id = ancestor.comment_id
"""

# A visible comment that turns hidden (or back) changes its ancestors' count of live replies.
SET_STATUS = """
WITH old AS (
    SELECT status FROM thread_comments
    WHERE site = $1 AND comment_id = $2 AND row_position < $3
    FOR UPDATE
), changed AS (
    UPDATE thread_comments t
    SET status = $4, status_reason = $5, row_position = $3, status_at = $6,
        deleted_by = CASE WHEN $4 = 'deleted' THEN $7 END,
        report_count = CASE WHEN $8 THEN 0 ELSE t.report_count END
    FROM old
    WHERE t.site = $1 AND t.comment_id = $2
    RETURNING t.ancestors,
              ($4 = 'published')::int - (old.status = 'published')::int AS delta
)
UPDATE thread_comments t SET live_descendants = t.live_descendants + changed.delta
FROM changed, unnest(changed.ancestors) AS ancestor(comment_id)
WHERE t.site = $1 AND t.comment_id = ancestor.comment_id AND changed.delta <> 0
"""

EDIT = """
UPDATE thread_comments SET body_html = $3, edited_at = $4, row_position = $5
WHERE site = $1 AND comment_id = $2 AND row_position < $5
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
    return None


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, position = recorded.event, recorded.position
    match event:
        case NewComment():
            parent_id = event.parent_id if isinstance(event, CommentReplied) else None
            author = event.author
            row = (event.site, event.comment_id, event.post_id, parent_id, position)
            shown = (author.name, author.website, event.body_html, event.created_at)
            return [(INSERT_COMMENT, (*row, *shown, event.author_key))]
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
    return [(SET_STATUS, (*arguments, deleted_by, dismissed))]


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(connection, (statement for recorded in events for statement in statements(recorded)))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
