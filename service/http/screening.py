"""What a new comment's checks need from the request: its author's salted hashes and whether
its client is over the site's rate limit."""

from dataclasses import dataclass

from aiohttp import web

from service.access import rate_limits
from service.access.credentials import client_hash
from service.access.rate_limits import Verdict
from service.access.sites import Site
from service.http.schemas import CommentBody
from service.keys import POOL, SETTINGS


@dataclass(frozen=True, slots=True)
class AuthorHashes:
    email_hash: str | None
    ip_hash: str
    name_ip_hash: str


def author_hashes(site: Site, ip: str, body: CommentBody) -> AuthorHashes:
    """Salted per site: the same person has unrelated hashes on two sites."""
    email = body.author.email
    return AuthorHashes(
        email_hash=client_hash(site.ip_salt, email.casefold()) if email else None,
        ip_hash=client_hash(site.ip_salt, ip),
        name_ip_hash=client_hash(site.ip_salt, f"{body.author.name.casefold()}\n{ip}"),
    )


async def comment_rate(request: web.Request, site: Site, ip_hash: str) -> Verdict:
    """A site with the limit off (benchmarks, importers) pays nothing for it."""
    per_minute = site.rate_limit_per_minute
    if per_minute is None:
        per_minute = request.app[SETTINGS].default_rate_limit_per_minute
    return await rate_limits.hit(request.app[POOL], site.site, "comment", ip_hash, per_minute)
