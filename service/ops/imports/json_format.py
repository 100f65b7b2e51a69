"""threadlog's JSON export of a site (or one post), and its import.

```
{"format": "threadlog-comments/1", "site": "blog", "posts": [
  {"id": "my-post", "title": "…", "url": "https://…", "labels": ["…"],
   "published_at": "2024-05-01T08:00:00Z", "closed": false, "comment_count": 2,
   "comments": [
     {"id": "…", "author": {"name": "Ann", "website": null},
      "created_at": "…", "edited_at": null, "status": "published", "deleted_by": null,
      "body": "the text", "body_html": "<p>the text</p>", "replies": [ … ]}]}]}
```
Posts in the order they were published; each post's comments as a tree, each level in the
order they were written. Every comment is there, whatever its status (`published`, `held`,
`rejected`, `deleted`, `erased`); an erased comment has no author name and no body. `body` is
the text of `body_html`. The import reads it post by post (ijson), so its size is bounded by
the largest post, and a post's id is its `id` unless `--post-id-from` says otherwise.
"""

from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import ijson

from service.db import Pool
from service.domain.events import CommentStatus, DeletedBy
from service.eventstore.cloudevents import format_time
from service.eventstore.codec import JsonObject, compact
from service.ops.imports.records import BadSource, SourceComment, SourceItem, SourcePost
from service.ops.imports.sources import parse_time, text_of, website
from service.write.rendering import sanitise

FORMAT = "threadlog-comments/1"

POSTS = """
SELECT post_id, title, url, labels, published_at, closed, comment_count FROM posts
WHERE site = $1 AND NOT deleted AND ($2::text IS NULL OR post_id = $2)
ORDER BY published_at, post_id
"""
COMMENTS = """
SELECT comment_id, parent_id, author_name, author_website, created_at, edited_at, status,
       deleted_by, body_html
FROM thread_comments WHERE site = $1 AND post_id = $2 ORDER BY position
"""


def time_or_none(value: Any) -> str | None:
    return None if value is None else format_time(value)


def comment_json(row: Any) -> JsonObject:
    return {
        "id": row["comment_id"],
        "author": {"name": row["author_name"], "website": row["author_website"]},
        "created_at": format_time(row["created_at"]),
        "edited_at": time_or_none(row["edited_at"]),
        "status": row["status"],
        "deleted_by": row["deleted_by"],
        "body": text_of(row["body_html"]),
        "body_html": row["body_html"],
        "replies": [],
    }


def tree(rows: list[Any]) -> list[JsonObject]:
    """Rows in log order (a parent before its replies) as a tree."""
    views: dict[str, JsonObject] = {}
    top: list[JsonObject] = []
    for row in rows:
        view = views[row["comment_id"]] = comment_json(row)
        parent = views.get(row["parent_id"]) if row["parent_id"] else None
        (parent["replies"] if parent is not None else top).append(view)
    return top


async def export_chunks(pool: Pool, site: str, post_id: str | None) -> AsyncIterator[str]:
    """The document, a post at a time."""
    yield compact({"format": FORMAT, "site": site})[:-1] + ',"posts":['
    async with pool.acquire() as connection:
        posts = await connection.fetch(POSTS, site, post_id)
    for number, post in enumerate(posts):
        async with pool.acquire() as connection:
            rows = await connection.fetch(COMMENTS, site, post["post_id"])
        shown = {
            "id": post["post_id"],
            "title": post["title"],
            "url": post["url"],
            "labels": list(post["labels"]),
            "published_at": format_time(post["published_at"]),
            "closed": post["closed"],
            "comment_count": post["comment_count"],
            "comments": tree(rows),
        }
        yield ("," if number else "") + "\n" + compact(shown)
    yield "\n]}\n"


def read(path: Path) -> Iterator[SourceItem]:
    try:
        with path.open("rb") as document:
            for post in ijson.items(document, "posts.item"):
                yield from post_items(post)
    except (ijson.JSONError, KeyError, TypeError, ValueError) as error:
        raise BadSource(f"not threadlog's JSON export: {error}") from None


def post_items(post: dict[str, Any]) -> Iterator[SourceItem]:
    post_id = str(post["id"])
    published = post.get("published_at")
    yield SourcePost(
        source_id=post_id,
        url=str(post.get("url") or ""),
        title=str(post.get("title") or ""),
        labels=tuple(str(label) for label in post.get("labels") or ()),
        published_at=parse_time(published, post_id) if published else None,
        slug=post_id,
    )
    waiting: deque[tuple[Any, str | None]] = deque((c, None) for c in post.get("comments") or ())
    while waiting:
        comment, parent = waiting.popleft()
        yield comment_item(comment, post_id, parent)
        waiting += [(reply, str(comment["id"])) for reply in comment.get("replies") or ()]


def comment_item(comment: dict[str, Any], post_id: str, parent: str | None) -> SourceComment:
    status = CommentStatus(comment.get("status") or "published")
    if status is CommentStatus.ERASED:
        status = CommentStatus.DELETED
    author = comment.get("author") or {}
    body_html = sanitise(str(comment.get("body_html") or ""))
    return SourceComment(
        source_id=str(comment["id"]),
        post_ref=post_id,
        parent_ref=parent,
        author_name=str(author.get("name") or "Anonymous"),
        author_website=website(author.get("website")),
        written_at=parse_time(str(comment["created_at"]), str(comment["id"])),
        body=str(comment.get("body") or text_of(body_html)),
        body_html=body_html,
        status=status,
        deleted_by=DeletedBy(comment.get("deleted_by") or "moderator"),
    )
