"""A comment's events, on its post's stream: written, replied to, deleted, moderated, edited and
erased; and the statuses and reasons they carry."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from service.domain.events.base import Frozen, HexBytes, PostEvent
from service.domain.policy import HoldReason


class DeletedBy(StrEnum):
    AUTHOR = "author"
    MODERATOR = "moderator"


class CommentStatus(StrEnum):
    """Where a comment stands; reports are flags on it, never a status."""

    PUBLISHED = "published"
    HELD = "held"
    REJECTED = "rejected"
    DELETED = "deleted"
    # Removed at its author's request (see AuthorErased): nothing of it can come back.
    ERASED = "erased"


class Author(Frozen):
    name: str
    website: str | None = None


def author_key(email_hash: str | None, name_ip_hash: str | None) -> str | None:
    """Who an author is for `first-time`: their email, else their name and IP."""
    return email_hash or name_ip_hash


class NewComment(PostEvent):
    private_fields = frozenset(
        {"delete_token_sha256", "author_email_hash", "author_ip_hash", "author_name_ip_hash"}
    )
    # The name-and-address digest is who an author without an email is (first-time, bans by
    # name and address): it lives as long as their comments. The bare address digest is kept
    # for a while only.
    personal_fields = frozenset(
        {"author", "body", "body_html", "author_email_hash", "author_name_ip_hash"}
    )
    ip_fields = frozenset({"author_ip_hash"})

    comment_id: str
    author: Author
    body: str
    body_html: str
    created_at: datetime
    # Private. Absent when a trusted writer (the demo, an import) gave none.
    delete_token_sha256: HexBytes | None = None
    # Salted per site: bans and `first-time` match on them.
    author_email_hash: str | None = None
    author_ip_hash: str | None = None
    author_name_ip_hash: str | None = None
    # Read back after its author was erased: the personal fields are empty.
    erased: bool = Field(default=False, exclude=True)

    @property
    def author_key(self) -> str | None:
        return author_key(self.author_email_hash, self.author_name_ip_hash)

    @classmethod
    def erased_values(cls) -> dict[str, object]:
        return {"author": {"name": ""}, "body": "", "body_html": ""}


class CommentPosted(NewComment):
    event_type = "comment.posted"


class CommentReplied(NewComment):
    event_type = "comment.replied"
    parent_id: str


class CommentDeleted(PostEvent):
    event_type = "comment.deleted"
    comment_id: str
    by: DeletedBy
    reason: str | None = None
    # Only a published comment leaves the counts; events older than moderation were.
    from_status: CommentStatus = CommentStatus.PUBLISHED


# --- moderation -------------------------------------------------------------------------


class RejectReason(StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off-topic"
    OTHER = "other"


class ReportReason(StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off-topic"
    OTHER = "other"


class CommentEvent(PostEvent):
    comment_id: str


class CommentHeld(CommentEvent):
    """A new comment held by the policy, or a live one held by its readers' reports."""

    event_type = "comment.held"
    private_fields = frozenset({"answered"})

    reason: HoldReason
    detail: str | None = None
    # Private: what its author was told when not `held`. A comment whose honeypot was filled
    # answers what it would have without it (`published`, mostly), so a bot cannot tell.
    answered: CommentStatus | None = None


class CommentApproved(CommentEvent):
    """A held comment published, or a published one's reports dismissed: either way its flags
    are cleared."""

    event_type = "comment.approved"
    reason: str | None = None
    from_status: CommentStatus = CommentStatus.HELD


class CommentRejected(CommentEvent):
    event_type = "comment.rejected"
    reason: RejectReason
    detail: str | None = None
    from_status: CommentStatus


class CommentRestored(CommentEvent):
    event_type = "comment.restored"
    reason: str | None = None
    from_status: CommentStatus


class CommentReported(CommentEvent):
    event_type = "comment.reported"
    private_fields = frozenset({"reporter_hash"})
    ip_fields = frozenset({"reporter_hash"})

    reason: ReportReason
    detail: str | None = None
    # Private: a client's second report of a comment counts nothing.
    reporter_hash: str | None = None


class CommentEdited(CommentEvent):
    event_type = "comment.edited"
    personal_fields = frozenset({"body", "body_html"})

    body: str
    body_html: str
    edited_at: datetime
    erased: bool = Field(default=False, exclude=True)

    @classmethod
    def erased_values(cls) -> dict[str, object]:
        return {"body": "", "body_html": ""}


class CommentErased(CommentEvent):
    """One comment of an erasure (AuthorErased): its author's data is destroyed."""

    event_type = "comment.erased"
    erasure_id: str
    from_status: CommentStatus
    at: datetime
