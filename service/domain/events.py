"""Events: frozen facts. Their `event_type` names are stored and published and never change."""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class DeletedBy(StrEnum):
    AUTHOR = "author"
    MODERATOR = "moderator"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Author(Frozen):
    name: str
    website: str | None = None


class Event(Frozen):
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    site: str
    post_id: str


class PostContent(Event):
    title: str
    url: str
    labels: tuple[str, ...]
    published_at: datetime


class PostPublished(PostContent):
    event_type = "post.published"


class PostUpdated(PostContent):
    event_type = "post.updated"


class PostDeleted(Event):
    event_type = "post.deleted"


class NewComment(Event):
    comment_id: str
    author: Author
    body: str
    body_html: str
    created_at: datetime


class CommentPosted(NewComment):
    event_type = "comment.posted"


class CommentReplied(NewComment):
    event_type = "comment.replied"
    parent_id: str


class CommentDeleted(Event):
    event_type = "comment.deleted"
    comment_id: str
    by: DeletedBy
    reason: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        PostPublished,
        PostUpdated,
        PostDeleted,
        CommentPosted,
        CommentReplied,
        CommentDeleted,
    )
}
