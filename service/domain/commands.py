"""Commands: what a user asks for. Ids, times and rendered HTML are filled in by the caller,
so that `decide` stays deterministic."""

from datetime import datetime

from service.domain.events import Author, DeletedBy, Frozen


class Command(Frozen):
    site: str


class PublishPost(Command):
    post_id: str
    title: str
    url: str
    labels: tuple[str, ...]
    published_at: datetime | None
    at: datetime


class DeletePost(Command):
    post_id: str


class PostComment(Command):
    post_id: str
    comment_id: str
    parent_id: str | None
    author: Author
    body: str
    body_html: str
    at: datetime
    delete_token_sha256: bytes


class DeleteComment(Command):
    comment_id: str
    by: DeletedBy
    reason: str | None
    # Present when the author deletes; a moderator's key was checked before the command.
    delete_token_sha256: bytes | None
