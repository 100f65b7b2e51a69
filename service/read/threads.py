"""The public thread's reads: projection tables only, one statement per read, and the JSON
that readers get of it. The same rows always give the same bytes (ETags and rebuilds rely on
it)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.db import Connection, Pool
from service.eventstore.cloudevents import format_time
from service.eventstore.codec import JsonObject, compact

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
COMMENTS = """
SELECT comment_id, parent_id, author_name, author_website, body_html, created_at, edited_at,
       status, deleted_by
FROM thread_comments
WHERE site = $1 AND post_id = $2 AND comment_id = ANY($3::text[])
"""


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


async def comments(
    connection: Connection | Pool, site: str, post_id: str, comment_ids: list[str]
) -> list[Any]:
    """The rows of these comments of a post, whatever their status, in no particular order."""
    return await connection.fetch(COMMENTS, site, post_id, comment_ids)


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
    label_key: str,
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
        label_key,
        before[0] if before else None,
        before[1] if before else None,
        limit + 1,
    )


def comment_view(row: Any) -> JsonObject:
    """A hidden comment (held, rejected or deleted) shows as a tombstone; only its replies
    keep it in the thread."""
    hidden = row["status"] != "published"
    edited_at = row["edited_at"]
    author = {"name": row["author_name"], "website": row["author_website"]}
    return {
        "id": row["comment_id"],
        "parent_id": row["parent_id"],
        "author": None if hidden else author,
        "body_html": None if hidden else row["body_html"],
        "created_at": format_time(row["created_at"]),
        "edited_at": None if hidden or edited_at is None else format_time(edited_at),
        "deleted": {"by": row["deleted_by"] or "moderator"} if hidden else None,
        "replies": [],
    }


def nest(rows: list[Any]) -> list[JsonObject]:
    """Rows in log order -> top-level views with replies nested; a parent precedes its replies."""
    views: dict[str, JsonObject] = {}
    roots: list[JsonObject] = []
    for row in rows:
        view = comment_view(row)
        views[view["id"]] = view
        parent = views.get(view["parent_id"]) if view["parent_id"] else None
        (parent["replies"] if parent is not None else roots).append(view)
    return roots


def thread_body(post_id: str, page: ThreadPage, newest_first: bool) -> bytes:
    """A page of the public thread as JSON; the next page starts after its last root."""
    roots = nest(page.rows)
    if newest_first:
        roots.reverse()
    next_cursor = None
    if page.has_more and roots:
        root_positions = [row["position"] for row in page.rows if row["parent_id"] is None]
        next_cursor = str(min(root_positions) if newest_first else max(root_positions))
    body = {"post": post_id, "total": page.total, "comments": roots, "next": next_cursor}
    return compact(body).encode()
