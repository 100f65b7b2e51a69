"""Response shapes. The same rows always give the same bytes (ETags and rebuilds rely on it)."""

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from service.domain.events import CommentReplied, NewComment
from service.eventstore.codec import compact
from service.eventstore.store import RecordedEvent

View = dict[str, Any]


def format_time(value: datetime) -> str:
    # timestamptz always comes back aware; a naive value can only mean UTC here.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


def subject_of(data: dict[str, Any]) -> str:
    if "post_id" not in data:  # the site's own stream: settings and bans
        return f"bans/{data['ban_id']}" if "ban_id" in data else "settings"
    subject = f"posts/{data['post_id']}"
    return f"{subject}/comments/{data['comment_id']}" if "comment_id" in data else subject


def cloud_event(recorded: RecordedEvent) -> View:
    """CloudEvents 1.0 JSON, plus the feed's `cursor` extension attribute."""
    return {
        "specversion": "1.0",
        "id": str(recorded.event_id),
        "source": f"/v1/sites/{recorded.data['site']}",
        "type": recorded.type,
        "subject": subject_of(recorded.data),
        "time": format_time(recorded.recorded_at),
        "datacontenttype": "application/json",
        "cursor": str(recorded.cursor),
        "data": recorded.data,
    }
