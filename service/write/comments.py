"""A reader's new comment: from what they sent to the command that decides it.

What the checks need from outside the domain is looked up here, before deciding: the author's
salted hashes, whether their client is over the site's rate limit, then (unless the comment is
refused already) the rendered body and the digest of the comment's delete token (the token
itself is derived, never stored).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.access import rate_limits
from service.access.credentials import client_hash, delete_token, sha256
from service.access.sites import Site
from service.db import Pool
from service.domain.commands import PostComment
from service.domain.events import Author
from service.write.prechecks import LOOK_FIRST_COST, refuse_early
from service.write.rendering import MAX_COST, markdown_cost, render_markdown


@dataclass(frozen=True, slots=True)
class Submission:
    """What a reader sent, already validated."""

    post_id: str
    parent_id: str | None
    author: Author
    email: str | None
    body: str
    honeypot: bool


@dataclass(frozen=True, slots=True)
class AuthorHashes:
    email_hash: str | None
    ip_hash: str
    name_ip_hash: str


def author_hashes(site: Site, address: str, name: str, email: str | None) -> AuthorHashes:
    """Salted per site: the same person has unrelated hashes on two sites."""
    return AuthorHashes(
        email_hash=client_hash(site.ip_salt, email.casefold()) if email else None,
        ip_hash=client_hash(site.ip_salt, address),
        name_ip_hash=client_hash(site.ip_salt, f"{name.casefold()}\n{address}"),
    )


@dataclass(frozen=True, slots=True)
class NewCommentCommand:
    command: PostComment
    # The comment's delete token, which the answer hands out (its digest is in the command).
    delete_token: str


async def comment_command(
    pool: Pool,
    site: Site,
    submission: Submission,
    address: str,
    token_secret: bytes,
    default_rate_limit: int,
    at: datetime,
    markdown_max_cost: int = MAX_COST,
) -> NewCommentCommand:
    """The command, or the DomainError that refuses it: refusals come before the Markdown,
    the sanitiser and the token (see prechecks.py)."""
    comment_id = str(uuid.uuid4())
    hashes = author_hashes(site, address, submission.author.name, submission.email)
    # A site with the limit off (benchmarks, importers) pays nothing for it.
    per_minute = site.rate_limit_per_minute
    limit = await rate_limits.hit(
        pool,
        site.site,
        "comment",
        hashes.ip_hash,
        default_rate_limit if per_minute is None else per_minute,
    )
    fields: dict[str, Any] = {
        "site": site.site,
        "post_id": submission.post_id,
        "comment_id": comment_id,
        "parent_id": submission.parent_id,
        "author": submission.author,
        "body": submission.body,
        "at": at,
        "author_email_hash": hashes.email_hash,
        "author_ip_hash": hashes.ip_hash,
        "author_name_ip_hash": hashes.name_ip_hash,
        "rate_limited": limit.limited,
        "retry_after_seconds": limit.retry_after_seconds,
        "honeypot": submission.honeypot,
    }
    cost = markdown_cost(submission.body)
    if cost > LOOK_FIRST_COST:
        unrendered = PostComment(**fields, body_html="", delete_token_sha256=b"")
        await refuse_early(pool, unrendered, cost)
    token = delete_token(token_secret, site.site, comment_id)
    command = PostComment(
        **fields,
        body_html=render_markdown(submission.body, markdown_max_cost, cost),
        delete_token_sha256=sha256(token),
    )
    return NewCommentCommand(command, token)
