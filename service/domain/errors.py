"""Domain errors: each knows its HTTP status, a stable problem slug and a title."""

from typing import ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = {}


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


# --- moderation ---------------------------------------------------------------------------


class ThreadClosed(DomainError):
    status, slug, title = 409, "thread-closed", "Thread closed"


class AuthorBanned(DomainError):
    status, slug, title = 403, "author-banned", "Author banned"


class RateLimited(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.headers |= {"Retry-After": str(max(retry_after_seconds, 1))}


class BannedWord(DomainError):
    status, slug, title = 422, "banned-word", "Banned word"


class WrongStatus(DomainError):
    """The comment is not in a state the action applies to (approving a published one...)."""

    status, slug, title = 409, "wrong-status", "Comment status does not allow this"


class EditWindowClosed(DomainError):
    status, slug, title = 409, "edit-window-closed", "Edit window closed"


class BanNotFound(DomainError):
    status, slug, title = 404, "not-found", "Ban not found"


class BanAlreadyLifted(DomainError):
    status, slug, title = 409, "ban-lifted", "Ban already lifted"


class ErasureNeedsModerator(DomainError):
    status, slug, title = 409, "erasure-needs-moderator", "Erasure needs a moderator"
