"""Read model `thread_comments`: every comment of every thread, nested by `ancestors`.

A deleted post's thread keeps its rows: reads answer 410 from `posts` before looking here,
and so any event of the thread applied again, in any order, finds its row and changes nothing.
A deleted comment keeps its row without author or body; it is shown as a tombstone while
`live_descendants > 0`, that is while some reply below it is still visible.
"""

from service.db import Connection
from service.domain.events import CommentDeleted, CommentReplied, NewComment
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
                                 position, author_name, author_website, body_html, created_at)
    SELECT $1, $2, $3, $4,
           coalesce((SELECT root_id FROM parent), $2),
           coalesce((SELECT ancestors FROM parent), '{}'),
           $5, $6, $7, $8, $9
    ON CONFLICT (site, comment_id) DO NOTHING
    RETURNING ancestors
)
UPDATE thread_comments t SET live_descendants = t.live_descendants + 1
FROM inserted, unnest(inserted.ancestors) AS ancestor(comment_id)
WHERE t.site = $1 AND t.comment_id = ancestor.comment_id
"""

DELETE_COMMENT = """
WITH deleted AS (
    UPDATE thread_comments
    SET deleted_by = $3, author_name = NULL, author_website = NULL, body_html = NULL
    WHERE site = $1 AND comment_id = $2 AND deleted_by IS NULL
    RETURNING ancestors
)
UPDATE thread_comments t SET live_descendants = t.live_descendants - 1
FROM deleted, unnest(deleted.ancestors) AS ancestor(comment_id)
WHERE t.site = $1 AND t.comment_id = ancestor.comment_id
"""


def statements(recorded: RecordedEvent) -> list[Statement]:
    event = recorded.event
    match event:
        case NewComment():
            parent_id = event.parent_id if isinstance(event, CommentReplied) else None
            author = event.author
            row = (event.site, event.comment_id, event.post_id, parent_id, recorded.position)
            shown = (author.name, author.website, event.body_html, event.created_at)
            return [(INSERT_COMMENT, (*row, *shown))]
        case CommentDeleted():
            return [(DELETE_COMMENT, (event.site, event.comment_id, event.by.value))]
    return []


async def apply(connection: Connection, recorded: RecordedEvent) -> None:
    await run(connection, statements(recorded))


async def apply_batch(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(connection, (statement for recorded in events for statement in statements(recorded)))
