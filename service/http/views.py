"""Response shapes. The same rows always give the same bytes (ETags and rebuilds rely on it)."""

from typing import Any

from aiohttp import web

from service.domain.events import CommentReplied, NewComment
from service.eventstore.cloudevents import format_time
from service.eventstore.codec import compact

View = dict[str, Any]


def dumps(body: object) -> bytes:
    return compact(body).encode()


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(body), status=status, content_type="application/json", headers=headers
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


def comment_view(row: Any) -> View:
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


def nest(rows: list[Any]) -> list[View]:
    """Rows in log order -> top-level views with replies nested; a parent precedes its replies."""
    views: dict[str, View] = {}
    roots: list[View] = []
    for row in rows:
        view = comment_view(row)
        views[view["id"]] = view
        parent = views.get(view["parent_id"]) if view["parent_id"] else None
        (parent["replies"] if parent is not None else roots).append(view)
    return roots


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
