"""A site's own stream: its policy, its bans, and the erasure of one person's data."""

from datetime import datetime
from enum import StrEnum

from service.domain.events.base import Event
from service.domain.policy import SiteSettings


class SiteEvent(Event):
    """An event of a site's own stream: its policy and its bans."""


class SiteSettingsChanged(SiteEvent):
    event_type = "site.settings_changed"
    settings: SiteSettings


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
