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

# A page is the thread in display order: its roots in the page's direction, each followed by
# its visible replies in log order (a parent before its replies), cut after `$4` comments,
# wherever that falls. Its roots start at `$3`, inclusive. It may start inside a root's
# replies: `$5` is that root's position (-1 when the page starts at a root) and `$6` the last
# reply already shown. Each root reads at
# most a page of its replies through (site, root_id, position): a root with 50,000 replies
# costs what one with a page of them does.
THREAD = """
WITH post AS (
    SELECT comment_count, deleted, position FROM posts WHERE site = $1 AND post_id = $2
), roots AS (
    SELECT comment_id, position FROM thread_comments
    WHERE site = $1 AND post_id = $2 AND parent_id IS NULL
      AND (status = 'published' OR live_descendants > 0)
      AND position {after}= $3
    ORDER BY position {direction} LIMIT $4 + 2
), page AS (
    SELECT r.position AS root_position, c.*
    FROM roots r CROSS JOIN LATERAL (
        SELECT comment_id, parent_id, position, author_name, author_website, body_html,
               created_at, deleted_by, status, edited_at
        FROM thread_comments c
        WHERE c.site = $1 AND c.root_id = r.comment_id
          AND (c.status = 'published' OR c.live_descendants > 0)
          AND c.position > CASE WHEN r.position = $5 THEN $6 ELSE 0 END
        ORDER BY c.position LIMIT $4 + 1
    ) c
    ORDER BY r.position {direction}, c.position LIMIT $4 + 1
)
SELECT post.comment_count, post.deleted, post.position AS post_position, page.*
FROM post LEFT JOIN page ON true
ORDER BY page.root_position {direction}, page.position
"""
THREAD_OLDEST = THREAD.format(after=">", direction="ASC")
THREAD_NEWEST = THREAD.format(after="<", direction="DESC")
NEWEST_START = 2**63 - 1
# What a comment's view adds to its text fields: ids, times, keys and punctuation.
VIEW_BYTES = 400
COMMENTS = """
SELECT comment_id, parent_id, author_name, author_website, body_html, created_at, edited_at,
       status, deleted_by
FROM thread_comments
WHERE site = $1 AND post_id = $2 AND comment_id = ANY($3::text[])
"""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a page starts: after root `root` and all its replies, or (when `reply` is set)
    inside that root's replies, after the one at position `reply`."""

    root: int
    reply: int | None = None

    def __str__(self) -> str:
        return str(self.root) if self.reply is None else f"{self.root}.{self.reply}"


@dataclass(frozen=True, slots=True)
class ThreadPage:
    total: int
    deleted: bool
    # The last event applied to the thread: the page is current while the post's row says so.
    position: int
    # In display order (see THREAD): a reply comes after its parent, or its parent was on an
    # earlier page.
    rows: list[Any]
    # Where the next page starts; None on the last one.
    next: Place | None


@dataclass(frozen=True, slots=True)
class ThreadStamp:
    position: int
    deleted: bool
    comment_count: int = 0


# Each post by its primary key, on its own (a join may be planned as a scan of the table).
STAMPS = """
SELECT w.site, w.post_id, p.position, p.deleted, p.comment_count
FROM unnest($1::text[], $2::text[]) AS w(site, post_id)
CROSS JOIN LATERAL (
    SELECT position, deleted, comment_count FROM posts
    WHERE site = w.site AND post_id = w.post_id LIMIT 1
) AS p
"""


async def thread_stamps(
    connection: Connection | Pool, posts: list[tuple[str, str]]
) -> dict[tuple[str, str], ThreadStamp]:
    """(site, post id) -> the thread's stamp, for the posts that exist."""
    sites, post_ids = zip(*posts, strict=True)
    rows = await connection.fetch(STAMPS, list(sites), list(post_ids))
    return {
        (row["site"], row["post_id"]): ThreadStamp(
            row["position"], row["deleted"], row["comment_count"]
        )
        for row in rows
    }


async def counts(connection: Connection | Pool, site: str, post_ids: list[str]) -> dict[str, int]:
    return counts_of(await thread_stamps(connection, [(site, p) for p in post_ids]), site, post_ids)


def counts_of(
    stamps: dict[tuple[str, str], ThreadStamp], site: str, post_ids: list[str]
) -> dict[str, int]:
    """Each post's visible comments: 0 for a post that is deleted or does not exist."""
    found = (stamps.get((site, post_id)) for post_id in post_ids)
    return {
        post_id: 0 if stamp is None or stamp.deleted else stamp.comment_count
        for post_id, stamp in zip(post_ids, found, strict=True)
    }


async def thread_page(
    connection: Connection | Pool,
    site: str,
    post_id: str,
    *,
    newest_first: bool,
    after: Place | None,
    limit: int,
    max_bytes: int = 2**62,
) -> ThreadPage | None:
    """None when the post does not exist. At most `limit` comments, replies and tombstones
    included, and no more than about `max_bytes` of them (but at least one)."""
    query, start = (THREAD_NEWEST, NEWEST_START) if newest_first else (THREAD_OLDEST, 0)
    place = after or Place(start)
    if place.reply is None:  # after that root: the first root is the next one
        first_root, inside, reply = place.root + (-1 if newest_first else 1), -1, 0
    else:
        first_root, inside, reply = place.root, place.root, place.reply
    rows = await connection.fetch(query, site, post_id, first_root, limit, inside, reply)
    if not rows:
        return None
    first = rows[0]
    found = [row for row in rows if row["comment_id"] is not None]
    kept: list[Any] = []
    size = 0
    for row in found[:limit]:
        size += VIEW_BYTES + sum(
            len(row[name] or "") for name in ("body_html", "author_name", "author_website")
        )
        if kept and size > max_bytes:
            break
        kept.append(row)
    more = len(kept) < len(found)
    last = kept[-1] if kept else None
    return ThreadPage(
        first["comment_count"],
        first["deleted"],
        first["post_position"],
        kept,
        Place(last["root_position"], last["position"]) if more and last is not None else None,
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
        "deleted": deletion(row) if hidden else None,
        "replies": [],
    }


def deletion(row: Any) -> JsonObject:
    """Why a tombstone is one: `erased` when its author had everything of theirs removed."""
    found: JsonObject = {"by": row["deleted_by"] or "moderator"}
    if row["status"] == "erased":
        found["erased"] = True
    return found


def nest(rows: list[Any]) -> list[JsonObject]:
    """Rows in display order -> views with replies nested; a parent precedes its replies.
    A reply whose parent is not among the rows (it was on an earlier page) stays at the top
    level, where its `parent_id` says where it goes."""
    views: dict[str, JsonObject] = {}
    top: list[JsonObject] = []
    for row in rows:
        view = comment_view(row)
        views[view["id"]] = view
        parent = views.get(view["parent_id"]) if view["parent_id"] else None
        (parent["replies"] if parent is not None else top).append(view)
    return top


def thread_body(post_id: str, page: ThreadPage, mail: bool = False) -> bytes:
    """A page of the public thread as JSON, with the cursor of the next page, and whether the
    server mails replies (the widget offers it only then)."""
    next_cursor = None if page.next is None else str(page.next)
    body = {"post": post_id, "total": page.total, "comments": nest(page.rows), "next": next_cursor}
    body["mail"] = mail
    return compact(body).encode()
