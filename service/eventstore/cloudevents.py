"""A recorded event as CloudEvents 1.0 JSON: what the feed, its live stream, webhooks and the
NATS relay all send, so a subscriber sees the same bytes whichever way it listens."""

from datetime import UTC, datetime

from service.eventstore.codec import JsonObject, compact
from service.eventstore.store import RecordedEvent


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with `Z`: the one way the service writes a time, here and in views."""
    # timestamptz always comes back aware; a naive value can only mean UTC here.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def subject_of(data: JsonObject) -> str:
    if "group" in data:  # a group's own stream: which sites it gathers
        return f"sites/{data['member']}" if "member" in data else "sites"
    if "post_id" not in data:  # the site's own stream: settings, bans and erasures
        if "erasure_id" in data:
            return f"erasures/{data['erasure_id']}"
        return f"bans/{data['ban_id']}" if "ban_id" in data else "settings"
    subject = f"posts/{data['post_id']}"
    return f"{subject}/comments/{data['comment_id']}" if "comment_id" in data else subject


def source_of(data: JsonObject) -> str:
    """`/v1/sites/<site>`, or `/v1/groups/<group>` for a group's events (they have no site)."""
    return f"/v1/groups/{data['group']}" if "group" in data else f"/v1/sites/{data['site']}"


def cloud_event(recorded: RecordedEvent) -> JsonObject:
    """CloudEvents 1.0 JSON, plus the feed's `cursor` extension attribute."""
    return {
        "specversion": "1.0",
        "id": str(recorded.event_id),
        "source": source_of(recorded.data),
        "type": recorded.type,
        "subject": subject_of(recorded.data),
        "time": format_time(recorded.recorded_at),
        "datacontenttype": "application/json",
        "cursor": str(recorded.cursor),
        "data": recorded.data,
    }


def cloud_event_json(recorded: RecordedEvent) -> str:
    return compact(cloud_event(recorded))
