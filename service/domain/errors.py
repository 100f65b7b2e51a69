"""Domain errors: each knows its HTTP status, a stable problem slug and a title."""

from typing import ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PostNotFound(DomainError):
    status, slug, title = 404, "not-found", "Post not found"


class PostGone(DomainError):
    status, slug, title = 410, "post-deleted", "Post deleted"


class PostIdRetired(DomainError):
    status, slug, title = 409, "post-deleted", "Post deleted"


class CommentNotFound(DomainError):
    status, slug, title = 404, "not-found", "Comment not found"


class CommentAlreadyDeleted(DomainError):
    status, slug, title = 409, "comment-already-deleted", "Comment already deleted"


class ParentNotFound(DomainError):
    status, slug, title = 422, "parent-not-found", "Parent comment not found"


class ReplyTooDeep(DomainError):
    status, slug, title = 422, "reply-too-deep", "Reply nested too deeply"


class WrongDeleteToken(DomainError):
    status, slug, title = 403, "forbidden", "Wrong delete token"
