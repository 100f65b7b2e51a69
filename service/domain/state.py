"""The small decision states: a post's thread and a site's own stream."""

from datetime import datetime

from pydantic import Field

from service.domain.events import BanMatch, CommentStatus, Frozen, author_key
from service.domain.policy import SiteSettings

# How deep replies nest: a reply's depth is its parent's plus one, below a top-level 0.
MAX_DEPTH = 32


class PostState(Frozen):
    title: str
    url: str
    labels: tuple[str, ...]
    published_at: datetime
    deleted: bool = False
    closed: bool = False


class CommentState(Frozen):
    post_id: str
    depth: int
    status: CommentStatus = CommentStatus.PUBLISHED
    delete_token_sha256: bytes | None = None
    created_at: datetime | None = None
    email_hash: str | None = None
    ip_hash: str | None = None
    name_ip_hash: str | None = None
    # Hashes of the clients that reported it: one report per client counts.
    reporters: tuple[str, ...] = ()

    @property
    def deleted(self) -> bool:
        return self.status is CommentStatus.DELETED

    @property
    def author_key(self) -> str | None:
        return author_key(self.email_hash, self.name_ip_hash)

    def hash_for(self, match: BanMatch) -> str | None:
        return match.pick(self.email_hash, self.ip_hash, self.name_ip_hash)


class BanState(Frozen):
    ban_id: str
    match: BanMatch
    author_hash: str
    expires_at: datetime | None = None
    hold: bool = False
    lifted: bool = False

    def active(self, at: datetime) -> bool:
        return not self.lifted and (self.expires_at is None or at < self.expires_at)


class ThreadState(Frozen):
    post: PostState | None = None
    # Only the comments the command touches, keyed by id.
    comments: dict[str, CommentState] = Field(default_factory=dict)
    # The site's policy, and of its bans and known authors those the commands' authors match.
    settings: SiteSettings = Field(default_factory=SiteSettings)
    bans: tuple[BanState, ...] = ()
    known_authors: frozenset[str] = frozenset()


class SiteState(Frozen):
    settings: SiteSettings = Field(default_factory=SiteSettings)
    # Only the bans and comments the command touches.
    bans: dict[str, BanState] = Field(default_factory=dict)
    comments: dict[str, CommentState] = Field(default_factory=dict)
