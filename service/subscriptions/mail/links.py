"""Signed links in mail: HMAC-SHA256 over what the link does, under a key derived from the
server secret, compared in constant time. Moderators' links expire and work once (spent ones
are recorded in `mail_links_used`); readers' links (confirm, unsubscribe) do the same thing
however often they are followed, so they need neither."""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.db import Pool


class LinkAction(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE_THREAD = "unsubscribe-thread"
    UNSUBSCRIBE_SITE = "unsubscribe-site"
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def moderates(self) -> bool:
        return self in (LinkAction.APPROVE, LinkAction.REJECT)


@dataclass(frozen=True, slots=True)
class Link:
    action: LinkAction
    site: str
    link_id: str
    # The reader's email digest, or the comment a moderator acts on.
    email_hash: str | None = None
    comment_id: str | None = None
    post_id: str | None = None
    # Unix seconds; 0: never.
    expires: int = 0


class BadLink(Exception):
    """Not a link this server signed."""


class SpentLink(Exception):
    """Expired, or (a moderator's) already used."""


def link_key(server_secret: bytes) -> bytes:
    return hmac.new(server_secret, b"mail links", hashlib.sha256).digest()


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_link(action: LinkAction, site: str, **fields: str | int | None) -> Link:
    return Link(action, site, secrets.token_urlsafe(12), **fields)  # type: ignore[arg-type]


def sign(server_secret: bytes, link: Link) -> str:
    payload: list[str | int | None] = [link.action.value, link.site, link.link_id]
    payload += [link.email_hash, link.comment_id, link.post_id, link.expires]
    body = encode(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(link_key(server_secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{encode(mac)}"


def verify(server_secret: bytes, token: str, now: datetime) -> Link:
    """The link `token` stands for: BadLink unless this server signed it, SpentLink once it
    expired."""
    body, dot, mac = token.partition(".")
    expected = hmac.new(link_key(server_secret), body.encode(), hashlib.sha256).digest()
    try:
        presented = decode(mac)
    except (binascii.Error, ValueError):
        raise BadLink from None
    if not dot or not hmac.compare_digest(expected, presented):
        raise BadLink
    action, site, link_id, email_hash, comment_id, post_id, expires = json.loads(decode(body))
    link = Link(LinkAction(action), site, link_id, email_hash, comment_id, post_id, expires)
    if link.expires and now.timestamp() > link.expires:
        raise SpentLink
    return link


async def is_spent(pool: Pool, link: Link) -> bool:
    found = await pool.fetchval("SELECT 1 FROM mail_links_used WHERE link_id = $1", link.link_id)
    return found is not None


async def spend(pool: Pool, link: Link) -> None:
    """Record a moderator's link as used: SpentLink when it was already."""
    spent = await pool.fetchval(
        "INSERT INTO mail_links_used (link_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
        link.link_id,
    )
    if spent is None:
        raise SpentLink
