"""Read-side SQL: projection tables only, one statement per read."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.db import Connection, Pool

POST_COLUMNS = "post_id, title, url, labels, published_at, comment_count, deleted"

THREAD = """
WITH post AS (
    SELECT comment_count, deleted, position FROM posts WHERE site = $1 AND post_id = $2
), page AS (
    SELECT comment_id, position FROM thread_comments
    WHERE site = $1 AND post_id = $2 AND parent_id IS NULL
      AND (status = 'published' OR live_descendants > 0) AND position {after} $3
    ORDER BY position {direction} LIMIT $4 + 1
), kept AS (
    SELECT comment_id FROM page ORDER BY position {direction} LIMIT $4
)
SELECT post.comment_count, post.deleted, post.position AS post_position,
       (SELECT count(*) FROM page) AS page_size,
       c.comment_id, c.parent_id, c.root_id, c.position, c.author_name, c.author_website,
       c.body_html, c.created_at, c.deleted_by, c.status, c.edited_at
FROM post LEFT JOIN thread_comments c
  ON c.site = $1 AND c.root_id IN (SELECT comment_id FROM kept)
 AND (c.status = 'published' OR c.live_descendants > 0)
ORDER BY c.position
"""
THREAD_OLDEST = THREAD.format(after=">", direction="ASC")
THREAD_NEWEST = THREAD.format(after="<", direction="DESC")
NEWEST_START = 2**63 - 1


@dataclass(frozen=True, slots=True)
class ThreadPage:
    total: int
    deleted: bool
    # The last event applied to the thread: the page is current while the post's row says so.
    position: int
    rows: list[Any]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ThreadStamp:
    position: int
    deleted: bool


async def thread_stamps(
    connection: Connection | Pool, posts: list[tuple[str, str]]
) -> dict[tuple[str, str], ThreadStamp]:
    """(site, post id) -> the thread's stamp, for the posts that exist."""
    sites, post_ids = zip(*posts, strict=True)
    rows = await connection.fetch(
        """SELECT site, post_id, position, deleted
           FROM posts JOIN unnest($1::text[], $2::text[]) AS wanted(site, post_id)
                USING (site, post_id)""",
        list(sites),
        list(post_ids),
    )
    return {
        (row["site"], row["post_id"]): ThreadStamp(row["position"], row["deleted"]) for row in rows
    }


async def thread_page(
    connection: Connection | Pool,
    site: str,
    post_id: str,
    *,
    newest_first: bool,
    after_position: int | None,
    limit: int,
) -> ThreadPage | None:
    """None when the post does not exist; rows come in log order."""
    query, start = (THREAD_NEWEST, NEWEST_START) if newest_first else (THREAD_OLDEST, 0)
    position = start if after_position is None else after_position
    rows = await connection.fetch(query, site, post_id, position, limit)
    if not rows:
        return None
    first = rows[0]
    comments = [row for row in rows if row["comment_id"] is not None]
    return ThreadPage(
        first["comment_count"],
        first["deleted"],
        first["post_position"],
        comments,
        first["page_size"] > limit,
    )


async def post(connection: Pool, site: str, post_id: str) -> Any:
    return await connection.fetchrow(
        f"SELECT {POST_COLUMNS} FROM posts WHERE site = $1 AND post_id = $2", site, post_id
    )


async def counts(connection: Pool, site: str, post_ids: list[str]) -> dict[str, int]:
    rows = await connection.fetch(
        """SELECT post_id, comment_count FROM posts
           WHERE site = $1 AND post_id = ANY($2::text[]) AND NOT deleted""",
        site,
        post_ids,
    )
    found = {row["post_id"]: row["comment_count"] for row in rows}
    return {post_id: found.get(post_id, 0) for post_id in post_ids}


async def labels(connection: Pool, site: str, by_count: bool) -> list[Any]:
    order = "post_count DESC, label_key" if by_count else "label_key"
    return await connection.fetch(
        f"SELECT label, post_count FROM labels WHERE site = $1 ORDER BY {order}", site
    )


async def label_posts(
    connection: Pool,
    site: str,
    key: str,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Posts carrying a label, newest first, `limit + 1` rows to tell whether more follow."""
    return await connection.fetch(
        f"""SELECT {", ".join("p." + c.strip() for c in POST_COLUMNS.split(","))}
            FROM label_posts lp JOIN posts p ON p.site = lp.site AND p.post_id = lp.post_id
            WHERE lp.site = $1 AND lp.label_key = $2
              AND ($3::timestamptz IS NULL OR (lp.published_at, lp.post_id) < ($3, $4))
            ORDER BY lp.published_at DESC, lp.post_id DESC
            LIMIT $5""",
        site,
        key,
        before[0] if before else None,
        before[1] if before else None,
        limit + 1,
    )
