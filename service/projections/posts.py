"""Read model `posts`: each post's public fields and its visible comment count.

Only published comments count: held, rejected and deleted ones do not. `position` is the last
event applied to the post's thread, so every event of a thread moves it (kept bodies rely on it).
"""

from itertools import pairwise
from typing import cast

from service.db import Connection
from service.domain.events import (
    CommentApproved,
    CommentDeleted,
    CommentErased,
    CommentEvent,
    CommentHeld,
    CommentRejected,
    CommentRestored,
    CommentStatus,
    NewComment,
    PostContent,
    PostDeleted,
    ThreadClosed,
    ThreadReopened,
)
from service.eventstore.store import RecordedEvent
from service.projections.statements import Statement, run

NAME = "posts"
TABLES = ("posts",)

# Every statement guards on `position < $n`: an event is applied to a row at most once.
UPSERT = """
INSERT INTO posts (site, post_id, title, url, labels, published_at, position)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (site, post_id) DO UPDATE SET
    title = excluded.title, url = excluded.url, labels = excluded.labels,
    published_at = excluded.published_at, position = excluded.position
WHERE posts.position < excluded.position
"""

DELETE = """
UPDATE posts SET deleted = true, comment_count = 0, position = $3
WHERE site = $1 AND post_id = $2 AND position < $3
"""

ADJUST = """
UPDATE posts SET comment_count = comment_count + $3, position = $4
WHERE site = $1 AND post_id = $2 AND position < $4
"""

# A run of ADJUSTs: first each post's events added up, applied when its row is older than all
# of them (the common case: the row moves past them in one version). Then, for a few events,
# in the same pipeline without a lookup, each event alone, which changes nothing where the sum
# applied and applies the events the row has not seen where it did not; for many (a replay's
# batch), the posts' positions are looked up first and only the events a sum did not cover go
# alone. Every statement is a primary-key probe: a join of the whole batch may be planned as a
# scan of the table.
POSITIONS = """
SELECT w.site, w.post_id, p.position
FROM unnest($1::text[], $2::text[]) AS w(site, post_id)
CROSS JOIN LATERAL (
    SELECT position FROM posts WHERE site = w.site AND post_id = w.post_id LIMIT 1
) AS p
"""
# Events of summed posts beyond which one lookup costs less than sending each alone.
LOOKUP_ABOVE = 64

ADJUST_POST = """
UPDATE posts SET comment_count = comment_count + $3, position = $5
WHERE site = $1 AND post_id = $2 AND position < $4
"""

SET_CLOSED = """
UPDATE posts SET closed = $3, position = $4
WHERE site = $1 AND post_id = $2 AND position < $4
"""


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, position = recorded.event, recorded.position
    match event:
        case PostContent():
            labels = list(event.labels)
            row = (event.site, event.post_id, event.title, event.url, labels, event.published_at)
            return [(UPSERT, (*row, position))]
        case PostDeleted():
            return [(DELETE, (event.site, event.post_id, position))]
        case NewComment():
            return [(ADJUST, (event.site, event.post_id, 1, position))]
        case CommentDeleted() | CommentRejected() | CommentErased():
            visible = event.from_status is CommentStatus.PUBLISHED
            return [(ADJUST, (event.site, event.post_id, -1 if visible else 0, position))]
        case CommentHeld():
            return [(ADJUST, (event.site, event.post_id, -1, position))]
        case CommentApproved():
            visible_before = event.from_status is CommentStatus.PUBLISHED
            return [(ADJUST, (event.site, event.post_id, 0 if visible_before else 1, position))]
        case CommentRestored():
            return [(ADJUST, (event.site, event.post_id, 1, position))]
        case CommentEvent():
            # Reports and edits: no count changes, but the thread does (its kept bodies).
            return [(ADJUST, (event.site, event.post_id, 0, position))]
        case ThreadClosed() | ThreadReopened():
            closed = isinstance(event, ThreadClosed)
            return [(SET_CLOSED, (event.site, event.post_id, closed, position))]
    return []


async def adjust(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """ADJUST's arguments (site, post id, delta, position), in order, as if one by one."""
    by_post: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for site, post_id, delta, position in rows:
        by_post.setdefault((str(site), str(post_id)), []).append(
            (cast(int, delta), cast(int, position))
        )
    summed = [
        (site, post_id, sum(delta for delta, _ in moves), moves[0][1], moves[-1][1])
        for (site, post_id), moves in by_post.items()
        if len(moves) > 1 and all(a[1] < b[1] for a, b in pairwise(moves))
    ]
    # ADJUST is ADJUST_POST from one position to itself.
    alone = [(site, post_id, delta, position, position) for site, post_id, delta, position in rows]
    if sum(len(by_post[(site, post_id)]) for site, post_id, *_ in summed) <= LOOKUP_ABOVE:
        await connection.executemany(ADJUST_POST, [*sorted(summed), *alone])
        return
    sites, post_ids = [site for site, *_ in summed], [post_id for _, post_id, *_ in summed]
    found = await connection.fetch(POSITIONS, sites, post_ids)
    older = {(row["site"], row["post_id"]): row["position"] for row in found}
    clean = [row for row in sorted(summed) if older.get(row[:2], row[3]) < row[3]]
    done = {(site, post_id) for site, post_id, *_ in clean}
    rest = [row for row in alone if (row[0], row[1]) not in done]
    await connection.executemany(ADJUST_POST, [*clean, *rest])


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(
        connection,
        (statement for recorded in events for statement in statements(recorded)),
        {ADJUST: adjust},
    )


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
