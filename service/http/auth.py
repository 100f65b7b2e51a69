"""Who is asking: API keys by role and site, the author's delete token, and the metadata that
records on each event who asked."""

import re
from typing import Any

from aiohttp import web

from service.access.clients import client_address, client_key
from service.access.credentials import ApiKey, Role, verify_key
from service.access.sites import Site
from service.http.keys import REQUEST_ID
from service.http.problems import Problem, unauthorized
from service.keys import KEY_USE, POOL, SITES, TRUSTED_PROXIES

MAX_CREDENTIAL_LENGTH = 200
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


async def known_site(request: web.Request, site: str) -> Site:
    found = await request.app[SITES].get(site)
    if found is None:
        raise Problem(404, f"site {site!r} does not exist")
    return found


async def optional_key(request: web.Request) -> ApiKey | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    if len(header) > MAX_CREDENTIAL_LENGTH:
        raise unauthorized("the Authorization header is too long")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise unauthorized("use Authorization: Bearer <key>")
    key = await verify_key(request.app[POOL], presented.strip())
    if key is None:
        raise unauthorized("the API key is malformed, unknown or revoked")
    await request.app[KEY_USE].record(request.app[POOL], key.key_id)
    return key


async def require_key(request: web.Request, site: str | None, *roles: Role) -> ApiKey:
    """A valid key of `site` (any site when None) with one of `roles`: else 401 or 403."""
    key = await optional_key(request)
    if key is None:
        raise unauthorized("this endpoint needs Authorization: Bearer <key>")
    return authorize(key, site, *roles)


def authorize(key: ApiKey, site: str | None, *roles: Role) -> ApiKey:
    if site is not None and key.site != site:
        raise Problem(403, "this key belongs to another site")
    if key.role not in roles:
        allowed = " or ".join(role.value for role in roles)
        raise Problem(403, f"a {key.role.value} key may not do this; it needs a {allowed} key")
    return key


def delete_token(request: web.Request) -> str | None:
    token = request.headers.get("X-Delete-Token")
    if token is None:
        return None
    if not TOKEN_PATTERN.fullmatch(token):
        raise unauthorized("the X-Delete-Token header is malformed")
    return token


def client(request: web.Request) -> str:
    """Who limits, bans and hashes count the request as: its client's IPv4 address or IPv6
    /64, read through the trusted proxies (see service/access/clients.py)."""
    peer = client_address(request.remote, request.headers, request.app[TRUSTED_PROXIES])
    return client_key(peer)


def metadata(request: web.Request, site: Site, api_key: ApiKey | None) -> dict[str, Any]:
    actor = (
        {"kind": "key", "key_id": api_key.key_id, "role": api_key.role.value}
        if api_key
        else {"kind": "author"}
    )
    # No IP digest: an event's own (sealed, for a while) is all that is kept of it.
    return {"actor": actor, "request_id": request[REQUEST_ID]}
