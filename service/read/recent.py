"""The newest published comments: of sites (a site's, a group's) and of one post. Each site's
walk starts at its newest comment (index `thread_comments_recent`) and stops after a page, so a
read costs its page per site whatever the table holds."""

from typing import Any

from service.db import Connection, Pool
from service.domain.text import visible_text
from service.eventstore.cloudevents import format_time
from service.eventstore.codec import JsonObject

COLUMNS = """c.site, c.comment_id, c.post_id, p.title, p.url, c.author_name, c.author_website,
       c.body_html, c.created_at, c.edited_at"""

# Each site's newest first, then merged. Both orders end in the index's, so the merge takes
# nothing a site's own page left out. Comments of deleted posts are passed over.
SITES = f"""
SELECT r.* FROM unnest($1::text[]) AS s(site)
CROSS JOIN LATERAL (
    SELECT {COLUMNS}
    FROM thread_comments c JOIN posts p ON p.site = c.site AND p.post_id = c.post_id
    WHERE c.site = s.site AND c.status = 'published' AND NOT p.deleted
    ORDER BY c.created_at DESC, c.comment_id DESC
    LIMIT $2
) AS r
ORDER BY r.created_at DESC, r.site, r.comment_id DESC
LIMIT $2
"""

POST = f"""
SELECT {COLUMNS}
FROM thread_comments c JOIN posts p ON p.site = c.site AND p.post_id = c.post_id
WHERE c.site = $1 AND c.post_id = $2 AND c.status = 'published'
ORDER BY c.created_at DESC, c.comment_id DESC
LIMIT $3
"""

EXCERPT_CHARACTERS = 140


async def of_sites(connection: Connection | Pool, sites: list[str], limit: int) -> list[Any]:
    """The newest `limit` published comments of these sites, newest first."""
    return await connection.fetch(SITES, sorted(set(sites)), limit)


async def of_post(connection: Connection | Pool, site: str, post_id: str, limit: int) -> list[Any]:
    """The newest `limit` published comments of a post, newest first."""
    return await connection.fetch(POST, site, post_id, limit)


def excerpt(body_html: str, length: int = EXCERPT_CHARACTERS) -> str:
    """A comment's text on one line, cut at a word near `length` characters."""
    words = " ".join(visible_text(body_html).split())
    if len(words) <= length:
        return words
    cut = words[:length].rsplit(" ", 1)[0] if " " in words[:length] else words[:length]
    return cut.rstrip(" ,.;:") + "…"


def recent_view(row: Any) -> JsonObject:
    return {
        "id": row["comment_id"],
        "site": row["site"],
        "post": {"id": row["post_id"], "title": row["title"], "url": row["url"]},
        "author": {"name": row["author_name"], "website": row["author_website"]},
        "excerpt": excerpt(row["body_html"] or ""),
        "created_at": format_time(row["created_at"]),
        "link": comment_link(row["url"], row["comment_id"]),
    }


def comment_link(post_url: str, comment_id: str) -> str:
    """The comment on its post's page: the widget gives each comment this anchor."""
    return f"{post_url.split('#', 1)[0]}#comment-{comment_id}"
