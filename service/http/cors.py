"""CORS for the reader endpoints under /v1/sites/{site}/: browsers may call them only from the
site's allowed origins (`threadlog sites create --origin`); a group's (/v1/groups/{group}/),
from those of any of its sites.

A request from an allowed origin gets `Access-Control-Allow-Origin` naming it, on every answer
(streams and problems too); any other origin gets no CORS
headers, so the browser keeps the answer from the page. A preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered here, before routing: 204 for an allowed origin,
a 403 problem for any other. Same-origin pages (the service's own /demo and /admin) need none
of this.
"""

import re

from aiohttp import web

from service.http.keys import CORS_ORIGIN
from service.http.problems import Problem, render
from service.keys import POOL, SITES
from service.read import groups

SITE_PATH = re.compile(r"/v1/sites/([A-Za-z0-9][A-Za-z0-9._~-]{0,127})/")
# A group's reads may be called from the allowed origins of any of its sites.
GROUP_PATH = re.compile(r"/v1/groups/([A-Za-z0-9][A-Za-z0-9._~-]{0,127})/")
# PATCH: an author edits their comment from the blog's page.
ALLOWED_METHODS = "GET, POST, PATCH, DELETE"
# Keys are not offered across origins: the key-authenticated calls come from /admin itself.
ALLOWED_HEADERS = "Content-Type, X-Delete-Token, Idempotency-Key, Last-Event-ID"
EXPOSED_HEADERS = "Location, ETag, X-Request-Id, Idempotent-Replayed, Threadlog-Position"
PREFLIGHT_MAX_AGE = "600"


async def preflight(request: web.Request, origin: str) -> web.Response | None:
    """For a request from `origin`: the answer to a preflight; for any other, None, and the
    origin is noted when it is allowed (`add_cors_headers` names it then)."""
    matched = SITE_PATH.match(request.path) or GROUP_PATH.match(request.path)
    if matched is None:
        return None
    if matched.re is GROUP_PATH:
        allowed = origin in await groups.origins(request.app[POOL], matched.group(1))
    else:
        site = await request.app[SITES].get(matched.group(1))
        allowed = site is not None and origin in site.origins
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if not allowed:
            detail = f"origin {origin!r} may not call site {matched.group(1)!r}"
            return render(request, Problem(403, detail, headers={"Vary": "Origin"}))
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            "Vary": "Origin",
        }
        return web.Response(status=204, headers=headers)
    if allowed:
        request[CORS_ORIGIN] = origin
    return None


def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Before `response` is prepared (the frame does it for what it answers, a live stream
    before it begins): answers to cross-origin callers under /v1/sites/ vary by Origin; an
    allowed origin's answers name it. (These answers are never stored by shared caches without
    revalidation, so answers to callers without an Origin are left as they are.) Not an
    on_response_prepare signal: its dispatch was 2.5% of a cached thread read."""
    path = request.path
    if "Origin" not in request.headers or not (SITE_PATH.match(path) or GROUP_PATH.match(path)):
        return
    vary = [part.strip() for part in response.headers.get("Vary", "").split(",") if part.strip()]
    if "Origin" not in vary:
        response.headers["Vary"] = ", ".join([*vary, "Origin"])
    origin = request.get(CORS_ORIGIN)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
