"""Commands: what a user asks for. Ids, times and rendered HTML are filled in by the caller,
so that `decide` stays deterministic."""

from datetime import datetime
from typing import Any

from service.domain.events import (
    Author,
    BanMatch,
    CommentStatus,
    DeletedBy,
    ErasureRequester,
    Frozen,
    RejectReason,
    ReportReason,
    author_key,
)


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
    # Looked up before deciding (see domain/policy.py); the defaults are a trusted writer's.
    author_email_hash: str | None = None
    author_ip_hash: str | None = None
    author_name_ip_hash: str | None = None
    rate_limited: bool = False
    retry_after_seconds: int = 0
    honeypot: bool = False

    @property
    def author_key(self) -> str | None:
        return author_key(self.author_email_hash, self.author_name_ip_hash)

    def hash_for(self, match: BanMatch) -> str | None:
        return match.pick(self.author_email_hash, self.author_ip_hash, self.author_name_ip_hash)


class ImportComment(Command):
    """A comment brought from another system (an import): written when its source says, in
    the status its source gave it. History is not screened again: no rate limit, ban, word
    or closed-thread check applies, and a reply may hang below a comment that is not
    published (as the source had it)."""

    post_id: str
    comment_id: str
    parent_id: str | None
    author: Author
    body: str
    body_html: str
    written_at: datetime
    status: CommentStatus = CommentStatus.PUBLISHED
    deleted_by: DeletedBy = DeletedBy.MODERATOR


class DeleteComment(Command):
    comment_id: str
    by: DeletedBy
    reason: str | None
    # Present when the author deletes; a moderator's key was checked before the command.
    delete_token_sha256: bytes | None


# --- moderation ---------------------------------------------------------------------------


class CommentCommand(Command):
    """A command about one comment; it is routed and locked by the comment's post."""

    comment_id: str
    at: datetime


class ApproveComment(CommentCommand):
    reason: str | None = None


class RejectComment(CommentCommand):
    reason: RejectReason
    detail: str | None = None


class RestoreComment(CommentCommand):
    reason: str | None = None


class ReportComment(CommentCommand):
    reason: ReportReason
    detail: str | None = None
    reporter_hash: str


class EditComment(CommentCommand):
    body: str
    body_html: str
    delete_token_sha256: bytes


class EraseComment(CommentCommand):
    """One comment of an erasure; the write side destroys its key in the same transaction."""

    erasure_id: str


class ThreadCommand(Command):
    post_id: str
    reason: str | None = None


class CloseThread(ThreadCommand):
    pass


class ReopenThread(ThreadCommand):
    pass


class SiteCommand(Command):
    """A command of the site's own stream."""


class ChangeSiteSettings(SiteCommand):
    """Only the fields given change; the others keep their current values."""

    changes: dict[str, Any]


class BanAuthor(SiteCommand):
    ban_id: str
    comment_id: str
    match: BanMatch
    expires_at: datetime | None
    hold: bool = False
    remove_comments: bool = False
    reason: str | None = None
    at: datetime


class UnbanAuthor(SiteCommand):
    ban_id: str
    reason: str | None = None
    at: datetime


class EraseAuthor(SiteCommand):
    """Erase everything of one person on a site: the author of an email (its digest), of a
    comment, or of the comments whose delete tokens (their digests) the author holds."""

    erasure_id: str
    requested_by: ErasureRequester
    at: datetime
    email_hash: str | None = None
    comment_id: str | None = None
    tokens: tuple[tuple[str, bytes], ...] = ()


# Commands that name a comment: their post is looked up by the comment. All others name a post.
NamesComment = DeleteComment | CommentCommand
NamesPost = PublishPost | DeletePost | PostComment | ImportComment | ThreadCommand
