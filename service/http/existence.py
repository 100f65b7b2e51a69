"""What read handlers ask first of a post: 404 when it (or its site) does not exist, 410 once
it is deleted; and of a group: 404 when it does not exist."""

from typing import NoReturn

from aiohttp import web

from service.domain.errors import PostGone
from service.http.auth import known_site
from service.http.positions import carries_position
from service.http.problems import Problem
from service.keys import POOL, STAMPS
from service.read import groups
from service.read.threads import ThreadStamp


async def missing_post(request: web.Request, site: str, post_id: str) -> NoReturn:
    """A 404 that names what is missing: the site when it is, else the post."""
    await known_site(request, site)
    raise Problem(404, f"post {post_id!r} does not exist")


async def current_thread(request: web.Request, site: str, post_id: str) -> ThreadStamp:
    """The stamp of a thread whose post exists and is not deleted."""
    stamps = request.app[STAMPS]
    if carries_position(request):
        stamp = await stamps.get_current(site, post_id)
    else:
        stamp = await stamps.get(site, post_id)
    if stamp is None:
        await missing_post(request, site, post_id)
    if stamp.deleted:
        raise PostGone(f"post {post_id!r} was deleted")
    return stamp


async def group_sites(request: web.Request, group: str) -> list[str]:
    """The group's member sites; a 404 problem when there is no such group."""
    sites = await groups.members(request.app[POOL], group)
    if sites is None:
        raise Problem(404, f"group {group!r} does not exist")
    return sites
