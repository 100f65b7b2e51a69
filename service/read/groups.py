"""A group's reads: its member sites, the label index across them and a label's posts in all
of them. Read-only aggregates of the sites' own read models."""

from typing import Any

from service.db import Connection, Pool
from service.read.threads import POST_COLUMNS

MEMBERS = """
SELECT array_remove(array_agg(m.site ORDER BY m.site), NULL) AS sites
FROM groups g LEFT JOIN group_sites m USING (group_name)
WHERE g.group_name = $1 AND NOT g.deleted
GROUP BY g.group_name
"""

# A site's label shows as its earliest post spells it; the group's, as its earliest post in any
# site does (one index probe per site and label finds each site's earliest).
LABELS = """
SELECT l.label_key, l.site, l.label, l.post_count
FROM group_sites m JOIN labels l ON l.site = m.site
CROSS JOIN LATERAL (
    SELECT published_at, post_id FROM label_posts lp
    WHERE lp.site = l.site AND lp.label_key = l.label_key
    ORDER BY published_at, post_id LIMIT 1
) AS earliest
WHERE m.group_name = $1
ORDER BY l.label_key, earliest.published_at, l.site
"""

# Each member's newest posts with the label, then merged (as recent comments are).
LABEL_POSTS = f"""
SELECT r.* FROM group_sites m
CROSS JOIN LATERAL (
    SELECT p.site, {", ".join("p." + c.strip() for c in POST_COLUMNS.split(","))}
    FROM label_posts lp JOIN posts p ON p.site = lp.site AND p.post_id = lp.post_id
    WHERE lp.site = m.site AND lp.label_key = $2
    ORDER BY lp.published_at DESC, lp.post_id DESC
    LIMIT $3
) AS r
WHERE m.group_name = $1
ORDER BY r.published_at DESC, r.site, r.post_id DESC
LIMIT $3
"""


async def members(connection: Connection | Pool, group: str) -> list[str] | None:
    """The group's sites, or None when there is no such group."""
    row = await connection.fetchrow(MEMBERS, group)
    return None if row is None else list(row["sites"])


async def labels(connection: Connection | Pool, group: str) -> list[dict[str, Any]]:
    """Each label of any member: its posts in all of them and per site (earliest first), in the
    order of their keys."""
    found: dict[str, dict[str, Any]] = {}
    for row in await connection.fetch(LABELS, group):
        entry = found.setdefault(
            row["label_key"], {"label": row["label"], "post_count": 0, "sites": []}
        )
        entry["post_count"] += row["post_count"]
        entry["sites"].append({"site": row["site"], "post_count": row["post_count"]})
    return list(found.values())


async def label_posts(
    connection: Connection | Pool, group: str, label_key: str, limit: int
) -> list[Any]:
    """The newest `limit` posts with the label in all the group's sites."""
    return await connection.fetch(LABEL_POSTS, group, label_key, limit)


async def origins(connection: Connection | Pool, group: str) -> set[str]:
    """Every origin some site of the group allows (none when there is no such group)."""
    rows = await connection.fetch(
        """SELECT DISTINCT unnest(s.origins) AS origin
           FROM groups g JOIN group_sites m USING (group_name) JOIN sites s USING (site)
           WHERE g.group_name = $1 AND NOT g.deleted""",
        group,
    )
    return {row["origin"] for row in rows}
