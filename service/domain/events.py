"""Events: frozen facts. Their `event_type` names are stored and published and never change."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from service.domain.policy import HoldReason, SiteSettings


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


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def bytes_from_hex(value: object) -> object:
    return bytes.fromhex(value) if isinstance(value, str) else value


# A digest: bytes in Python, hex in JSON.
HexBytes = Annotated[
    bytes, BeforeValidator(bytes_from_hex), PlainSerializer(bytes.hex, when_used="json")
]


class Author(Frozen):
    name: str
    website: str | None = None


def author_key(email_hash: str | None, name_ip_hash: str | None) -> str | None:
    """Who an author is for `first-time`: their email, else their name and IP."""
    return email_hash or name_ip_hash


class Event(Frozen):
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Facts only the write side needs (digests of a secret or of who acted): stored with the
    # event, in its metadata, and never published, so the decision state can be rebuilt from
    # the log without subscribers learning them.
    private_fields: ClassVar[frozenset[str]] = frozenset()
    # Facts about a person, stored sealed under their key (see eventstore/vault.py), and the
    # digests of IP addresses, sealed under their key and the day's (kept for a while only).
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    ip_fields: ClassVar[frozenset[str]] = frozenset()
    site: str

    @classmethod
    def erased_values(cls) -> dict[str, object]:
        """What the personal fields read as once their key is destroyed."""
        return {}


class PostEvent(Event):
    """An event of one post's stream (its thread)."""

    post_id: str


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


class BanMatch(StrEnum):
    EMAIL = "email"
    IP = "ip"
    NAME_IP = "name_ip"

    def pick(
        self, email_hash: str | None, ip_hash: str | None, name_ip_hash: str | None
    ) -> str | None:
        """The author's hash that a ban of this kind matches on."""
        return {BanMatch.EMAIL: email_hash, BanMatch.IP: ip_hash, BanMatch.NAME_IP: name_ip_hash}[
            self
        ]


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


class ThreadClosed(PostEvent):
    event_type = "thread.closed"
    reason: str | None = None


class ThreadReopened(PostEvent):
    event_type = "thread.reopened"
    reason: str | None = None


class SiteEvent(Event):
    """An event of a site's own stream: its policy and its bans."""


class SiteSettingsChanged(SiteEvent):
    event_type = "site.settings_changed"
    settings: SiteSettings


class AuthorBanned(SiteEvent):
    event_type = "author.banned"
    ban_id: str
    comment_id: str
    match: BanMatch
    # The author's email, IP or name-and-IP hash, salted per site.
    author_hash: str
    expires_at: datetime | None = None
    # Hold the banned author's new comments instead of refusing them.
    hold: bool = False
    remove_comments: bool = False
    reason: str | None = None
    at: datetime


class AuthorUnbanned(SiteEvent):
    event_type = "author.unbanned"
    ban_id: str
    reason: str | None = None
    at: datetime


class ErasureRequester(StrEnum):
    MODERATOR = "moderator"
    AUTHOR = "author"
    # `threadlog erase`, and erasures re-applied from the ledger after a restore.
    OPERATOR = "operator"


class AuthorErased(SiteEvent):
    """Everything of one person on a site erased: their data keys destroyed, each of their
    comments erased on its post's stream (CommentErased). No personal data in it."""

    event_type = "author.erased"
    erasure_id: str
    comment_ids: tuple[str, ...]
    requested_by: ErasureRequester
    at: datetime


# --- groups of sites -----------------------------------------------------------------------


class GroupEvent(Event):
    """An event of a group's own stream (`group:<name>`): which sites it gathers. It belongs to
    no one site, so its `site` is empty and only subscribers of every site see it."""

    site: str = ""
    group: str
    at: datetime


class GroupCreated(GroupEvent):
    event_type = "group.created"
    sites: tuple[str, ...]


class GroupSiteAdded(GroupEvent):
    event_type = "group.site_added"
    member: str


class GroupSiteRemoved(GroupEvent):
    event_type = "group.site_removed"
    member: str


class GroupDeleted(GroupEvent):
    event_type = "group.deleted"


GROUP_TYPES: tuple[type[Event], ...] = (
    GroupCreated,
    GroupSiteAdded,
    GroupSiteRemoved,
    GroupDeleted,
)

MODERATION_TYPES: tuple[type[Event], ...] = (
    CommentHeld,
    CommentApproved,
    CommentRejected,
    CommentRestored,
    CommentReported,
    CommentEdited,
    ThreadClosed,
    ThreadReopened,
    SiteSettingsChanged,
    AuthorBanned,
    AuthorUnbanned,
)

PRIVACY_TYPES: tuple[type[Event], ...] = (AuthorErased, CommentErased)

CORE_TYPES: tuple[type[Event], ...] = (
    PostPublished,
    PostUpdated,
    PostDeleted,
    CommentPosted,
    CommentReplied,
    CommentDeleted,
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls for cls in (*CORE_TYPES, *MODERATION_TYPES, *PRIVACY_TYPES, *GROUP_TYPES)
}
