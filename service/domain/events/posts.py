"""A post and its thread: the events of one post's stream that are not about one comment."""

from datetime import datetime

from service.domain.events.base import PostEvent


class PostContent(PostEvent):
    title: str
    url: str
    labels: tuple[str, ...]
    published_at: datetime


class PostPublished(PostContent):
    event_type = "post.published"


class PostUpdated(PostContent):
    event_type = "post.updated"


class PostDeleted(PostEvent):
    event_type = "post.deleted"


class ThreadClosed(PostEvent):
    event_type = "thread.closed"
    reason: str | None = None


class ThreadReopened(PostEvent):
    event_type = "thread.reopened"
    reason: str | None = None
