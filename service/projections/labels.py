"""Read models `labels` (label -> number of live posts) and `label_posts` (label -> posts).

A label's shown spelling is the one of the first post that brought it in.
"""

from service.db import Connection
from service.domain.events import PostContent, PostDeleted
from service.eventstore.store import RecordedEvent
from service.labels import label_key
from service.projections.statements import Statement, run

NAME = "labels"
TABLES = ("labels", "label_posts")

# Applying the same event twice finds nothing to add or remove the second time.
SET_POST_LABELS = """
WITH wanted AS (
    SELECT DISTINCT ON (key) key, label
    FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(key, label, n)
    ORDER BY key, n
), removed AS (
    DELETE FROM label_posts lp
    WHERE lp.site = $1 AND lp.post_id = $2 AND lp.label_key NOT IN (SELECT key FROM wanted)
    RETURNING lp.label_key
), added AS (
    INSERT INTO label_posts (site, label_key, post_id, published_at)
    SELECT $1, key, $2, $5 FROM wanted
    ON CONFLICT (site, label_key, post_id) DO UPDATE SET published_at = excluded.published_at
    RETURNING label_key, (xmax = 0) AS is_new
), counted AS (
    INSERT INTO labels (site, label_key, label, post_count)
    SELECT $1, w.key, w.label, 1 FROM wanted w JOIN added a ON a.label_key = w.key AND a.is_new
    ON CONFLICT (site, label_key) DO UPDATE SET post_count = labels.post_count + 1
)
UPDATE labels SET post_count = post_count - 1
WHERE site = $1 AND label_key IN (SELECT label_key FROM removed)
"""

DROP_EMPTY = "DELETE FROM labels WHERE site = $1 AND post_count <= 0"


def statements(recorded: RecordedEvent) -> list[Statement]:
    event = recorded.event
    match event:
        case PostContent():
            labels = list(event.labels)
            keys = [label_key(label) for label in labels]
            return [
                (SET_POST_LABELS, (event.site, event.post_id, keys, labels, event.published_at)),
                (DROP_EMPTY, (event.site,)),
            ]
        case PostDeleted():
            return [
                (SET_POST_LABELS, (event.site, event.post_id, [], [], None)),
                (DROP_EMPTY, (event.site,)),
            ]
    return []


async def apply(connection: Connection, recorded: RecordedEvent) -> None:
    await run(connection, statements(recorded))
