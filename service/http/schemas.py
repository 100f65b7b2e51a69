"""Request bodies. Text is bounded, free of NUL and control characters, and never coerced."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from service.access.text import NAME_MAX_LENGTH, author_name, email, line, no_controls
from service.domain.events import EVENT_TYPES
from service.eventstore.cursors import Cursor


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("must be an absolute http(s) URL")
    parts.port  # noqa: B018 - raises ValueError when the port is not a number up to 65535
    return value


EARLIEST, LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    # asyncpg stores the first and last instants as -infinity/infinity and reads them back
    # naive; an offset can push a valid date-time past year 9999 (or before year 1) in UTC.
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = EARLIEST
    if not EARLIEST < moment < LATEST:
        raise ValueError("must be after 0001-01-01T00:00:00Z and before 10000-01-01T00:00:00Z")
    return moment


# Kept in its display form: NFKC, without invisible format characters (access/text.py).
Name = Annotated[str, *line(NAME_MAX_LENGTH), AfterValidator(author_name)]
Title = Annotated[str, *line(300)]
Label = Annotated[str, *line(50)]
Reason = Annotated[str, *line(500)]
Url = Annotated[
    str, StringConstraints(max_length=2048), AfterValidator(no_controls), AfterValidator(http_url)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(email)
]
Markdown = Annotated[
    str,
    StringConstraints(min_length=1, max_length=10_000),
    AfterValidator(no_controls),
    AfterValidator(not_blank),
]
CommentId = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(no_controls)
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostBody(Body):
    title: Title
    url: Url
    labels: list[Label] = Field(default_factory=list, max_length=20)
    # Strict: a JSON number is not taken for a unix timestamp; RFC 3339 strings only.
    published_at: Annotated[AwareDatetime, Strict(), AfterValidator(utc)] | None = None


class AuthorBody(Body):
    name: Name
    email: Email | None = None
    website: Url | None = None


class CommentBody(Body):
    author: AuthorBody
    body: Markdown
    parent_id: CommentId | None = None
    # Hidden from people by the widget; a bot that fills it is held as spam, silently.
    honeypot: Annotated[str, StringConstraints(max_length=1000)] | None = None
    # Mail the author (`author.email`) replies to this comment, once the address is confirmed.
    notify: Annotated[bool, Strict()] = False
    # The language of that mail; absent, the site's `mail_language`.
    language: Literal["en", "nl"] | None = None


class DeleteBody(Body):
    reason: Reason | None = None


def known_event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r}")
    return value


def distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def cursor_text(value: str) -> str:
    Cursor.parse(value)  # ValueError names what is wrong
    return value


# A `cursor` from the feed, or "0-0" for the log's very beginning.
CursorText = Annotated[str, StringConstraints(max_length=50), AfterValidator(cursor_text)]
EventType = Annotated[str, StringConstraints(max_length=100), AfterValidator(known_event_type)]
EventTypes = Annotated[list[EventType], Field(max_length=100), AfterValidator(distinct)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(no_controls)
]


class WebhookBody(Body):
    url: Url
    # Empty or absent: every event type.
    types: EventTypes = Field(default_factory=list)
    description: Description = ""
    # Where delivery starts: after this cursor; absent, with the next event committed.
    after: CursorText | None = None


class WebhookChangeBody(Body):
    url: Url | None = None
    types: EventTypes | None = None
    description: Description | None = None
    status: Literal["active", "paused"] | None = None


class ReplayBody(Body):
    after: CursorText
