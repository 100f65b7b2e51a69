"""Response shapes of moderation. Emails and IPs never appear, not even hashed: an author is
named by an opaque salted key that only the audit filter takes."""

import json
from datetime import datetime
from typing import Any

from service.domain.policy import SiteSettings
from service.eventstore.cloudevents import format_time
from service.http.views import View


def time_or_none(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def comment_detail(row: Any, *, moderator: bool) -> View:
    """One comment as its author or a moderator sees it; the public sees published ones only,
    and the same shape. Why it was held (or is in the queue, for a published comment with
    reports), its reports and its author key are for moderators."""
    reason = row["status_reason"]
    if row["status"] == "published":
        reason = "reports" if row["report_count"] else None
    return {
        "id": row["comment_id"],
        "post_id": row["post_id"],
        "parent_id": row["parent_id"],
        "author": {"name": row["author_name"], "website": row["author_website"]},
        "body_html": row["body_html"],
        "created_at": format_time(row["created_at"]),
        "edited_at": time_or_none(row["edited_at"]),
        "status": row["status"],
        "reason": reason if moderator else None,
        "reports": row["report_count"] if moderator else None,
        "author_key": row["author_key"] if moderator else None,
    }


def settings_view(settings: SiteSettings) -> View:
    return settings.model_dump(mode="json")


def ban_view(row: Any) -> View:
    return {
        "id": row["ban_id"],
        "match": row["match"],
        "comment_id": row["comment_id"],
        "expires_at": time_or_none(row["expires_at"]),
        "reason": row["reason"],
        "created_at": format_time(row["created_at"]),
        "lifted_at": time_or_none(row["lifted_at"]),
    }


def audit_view(row: Any) -> View:
    return {
        "id": str(row["event_id"]),
        "type": row["type"],
        "post_id": row["post_id"],
        "comment_id": row["comment_id"],
        "author_key": row["author_key"],
        "actor": row["actor"],
        "reason": row["reason"],
        "at": format_time(row["at"]),
        "data": json.loads(row["data"]),
    }
