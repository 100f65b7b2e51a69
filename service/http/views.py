"""Response shapes of posts and new comments (the thread's are in read/threads.py); the same
rows always give the same bytes."""

from typing import Any

from aiohttp import web

from service.domain.events import CommentReplied, NewComment
from service.eventstore.cloudevents import format_time
from service.eventstore.codec import compact

View = dict[str, Any]


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=compact(body).encode(), status=status, content_type="application/json", headers=headers
    )


def post_view(row: Any) -> View:
    return {
        "id": row["post_id"],
        "title": row["title"],
        "url": row["url"],
        "labels": list(row["labels"]),
        "published_at": format_time(row["published_at"]),
        "comment_count": row["comment_count"],
    }


def new_comment_view(event: NewComment, status: str = "published") -> View:
    """`status` is `held` when the site's checks hold it: shown to its author only."""
    return {
        "id": event.comment_id,
        "parent_id": event.parent_id if isinstance(event, CommentReplied) else None,
        "author": {"name": event.author.name, "website": event.author.website},
        "body_html": event.body_html,
        "created_at": format_time(event.created_at),
        "edited_at": None,
        "deleted": None,
        "replies": [],
        "status": status,
    }
