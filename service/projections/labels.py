"""Read models `label_posts` (label -> posts, with each post's spelling) and `labels` (label ->
number of live posts, and the spelling shown).

The shown spelling is that of the earliest published post carrying the label (ties by post
id): it depends only on which posts carry the label now, never on the order in which posts of
different threads were written, so a replay of the log shows the same.
"""

from service.db import Connection
from service.domain.events import PostContent, PostDeleted
from service.domain.labels import label_key
from service.eventstore.store import RecordedEvent

NAME = "labels"
TABLES = ("labels", "label_posts", "label_post_positions")

# Returns the labels whose posts changed. An event older than the last one applied to the post
# (or the same one again) changes nothing.
SET_POST_LABELS = """
WITH newer AS (
    INSERT INTO label_post_positions (site, post_id, position) VALUES ($1, $2, $6)
    ON CONFLICT (site, post_id) DO UPDATE SET position = excluded.position
    WHERE label_post_positions.position < excluded.position
    RETURNING position
), wanted AS (
    SELECT DISTINCT ON (key) key, label
    FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(key, label, n)
    WHERE EXISTS (SELECT 1 FROM newer)
    ORDER BY key, n
), removed AS (
    DELETE FROM label_posts lp
    WHERE lp.site = $1 AND lp.post_id = $2 AND lp.label_key NOT IN (SELECT key FROM wanted)
      AND EXISTS (SELECT 1 FROM newer)
    RETURNING lp.label_key
), kept AS (
    INSERT INTO label_posts (site, label_key, post_id, label, published_at)
    SELECT $1, key, $2, label, $5 FROM wanted
    ON CONFLICT (site, label_key, post_id) DO UPDATE
        SET label = excluded.label, published_at = excluded.published_at
    RETURNING label_key
)
SELECT label_key FROM removed UNION SELECT label_key FROM kept
"""

# Writers of different posts may change one label at once: each recounts it only while holding
# the label's lock, in a later statement, so it counts what the previous holder committed and
# the last to recount sees everything.
LOCK_LABELS = """
SELECT pg_advisory_xact_lock(hashtextextended('label:' || $1 || ':' || key, 0))
FROM unnest($2::text[]) AS key
"""

REFRESH = """
WITH fresh AS (
    SELECT label_key, count(*) AS post_count,
           (array_agg(label ORDER BY published_at, post_id))[1] AS label
    FROM label_posts WHERE site = $1 AND label_key = ANY($2::text[])
    GROUP BY label_key
), emptied AS (
    DELETE FROM labels
    WHERE site = $1 AND label_key = ANY($2::text[])
      AND label_key NOT IN (SELECT label_key FROM fresh)
)
INSERT INTO labels (site, label_key, label, post_count)
SELECT $1, label_key, label, post_count FROM fresh
ON CONFLICT (site, label_key) DO UPDATE
    SET label = excluded.label, post_count = excluded.post_count
"""


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    """Set each post's labels in order, then recount every label they touched at once."""
    changed: dict[str, set[str]] = {}
    for recorded in events:
        event, position = recorded.event, recorded.position
        arguments: tuple[object, ...]
        match event:
            case PostContent():
                labels = list(event.labels)
                keys = [label_key(label) for label in labels]
                arguments = (event.site, event.post_id, keys, labels, event.published_at, position)
            case PostDeleted():
                arguments = (event.site, event.post_id, [], [], None, position)
            case _:
                continue
        rows = await connection.fetch(SET_POST_LABELS, *arguments)
        changed.setdefault(event.site, set()).update(row["label_key"] for row in rows)
    # All of a batch's label locks, in one order (site, then label): batches cannot deadlock.
    for site, touched in sorted(changed.items()):
        if touched:
            await connection.execute(LOCK_LABELS, site, sorted(touched))
            await connection.execute(REFRESH, site, sorted(touched))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
