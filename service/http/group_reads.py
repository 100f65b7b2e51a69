"""Recent comments (of a site, of a group) and a group's label index, as JSON. Read-only
aggregates of the sites' own read models; moderation stays with each site. Read where reads go
(a replica, if any; see service/http/positions.py); a group's members come from the primary."""

from aiohttp import web

from service.domain.labels import label_key
from service.eventstore.codec import compact
from service.http.auth import known_site
from service.http.existence import group_sites
from service.http.parsing import path_label, query_int
from service.http.positions import read_pool
from service.http.representations import Representation
from service.http.views import post_view
from service.keys import SETTINGS
from service.read import groups, recent


def recent_limit(request: web.Request) -> int:
    settings = request.app[SETTINGS]
    return query_int(
        request, "limit", settings.recent_comments_default, 1, settings.recent_comments_max
    )


def json_with_etag(request: web.Request, body: object) -> web.Response:
    """Answers a 304 to a client that has these bytes already."""
    return Representation.of(0, compact(body).encode()).response(request)


async def get_recent_comments(request: web.Request) -> web.Response:
    site = request.match_info["site"]
    limit = recent_limit(request)
    pool = await read_pool(request)
    await known_site(request, site)
    rows = await recent.of_sites(pool, [site], limit)
    return json_with_etag(request, {"comments": [recent.recent_view(row) for row in rows]})


async def get_group_recent_comments(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    limit = recent_limit(request)
    pool = await read_pool(request)
    sites = await group_sites(request, group)
    rows = await recent.of_sites(pool, sites, limit)
    comments = [recent.recent_view(row) for row in rows]
    return json_with_etag(request, {"group": group, "sites": sites, "comments": comments})


async def get_group_labels(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    pool = await read_pool(request)
    await group_sites(request, group)
    return json_with_etag(request, {"group": group, "labels": await groups.labels(pool, group)})


async def get_group_label_posts(request: web.Request) -> web.Response:
    group, label = request.match_info["group"], path_label(request)
    limit = query_int(request, "limit", 20, 1, 100)
    pool = await read_pool(request)
    await group_sites(request, group)
    rows = await groups.label_posts(pool, group, label_key(label), limit)
    posts = [post_view(row) | {"site": row["site"]} for row in rows]
    return json_with_etag(request, {"group": group, "label": label, "posts": posts})
