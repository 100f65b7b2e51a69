"""Atom feeds: a post's comments, a site's and a group's recent comments, a label's posts.
Published comments only, newest first, at most `feed_entries` of them; an ETag on each, so a
feed reader polling an unchanged feed gets a 304. Read where reads go (a replica, if any; see
service/http/positions.py)."""

from aiohttp import web

from service.domain.labels import label_key
from service.http.auth import known_site
from service.http.existence import current_thread, group_sites, missing_post
from service.http.keys import REPRESENTATIONS
from service.http.parsing import path_label
from service.http.positions import read_pool
from service.http.representations import Representation
from service.keys import SETTINGS
from service.read import atom, recent, threads
from service.read.atom import CONTENT_TYPE, Feed, urn


def self_url(request: web.Request) -> str:
    """The feed's own address, as its readers reach it (behind a proxy: THREADLOG_PUBLIC_URL)."""
    public = request.app[SETTINGS].public_url
    return f"{public.rstrip('/')}{request.path_qs}" if public else str(request.url)


def atom_response(request: web.Request, body: bytes) -> web.Response:
    return Representation.of(0, body, CONTENT_TYPE).response(request)


async def get_post_feed(request: web.Request) -> web.Response:
    site, post_id = request.match_info["site"], request.match_info["post"]
    pool = await read_pool(request)
    stamp = await current_thread(request, site, post_id)
    entries = request.app[SETTINGS].feed_entries
    address = self_url(request)
    # The thread's stamp (the primary's) moves with every event of it: a kept feed is right
    # while it holds.
    cache_key = ("atom", site, post_id, address, entries)
    cached = request.app[REPRESENTATIONS].get(cache_key, stamp.position)
    if cached is not None:
        return cached.response(request)
    # A replica may be behind the primary's stamp, so the feed is kept under the position it
    # was read at, taken first: what is read after it is as new or newer (the replica only
    # moves on), and a newer body under an older position is never served, as the stamp has
    # moved past it by then.
    read_at = (await threads.thread_stamps(pool, [(site, post_id)])).get((site, post_id))
    if read_at is None:  # not on a replica yet
        await missing_post(request, site, post_id)
    post = await threads.post(pool, site, post_id)
    known = await known_site(request, site)
    rows = await recent.of_post(pool, site, post_id, entries)
    feed = Feed(
        urn("post-comments", site, post_id),
        f"Comments on {post['title']}",
        address,
        known.title,
        alternate=post["url"],
    )
    body = atom.document(feed, rows, since=post["published_at"])
    representation = Representation.of(read_at.position, body, CONTENT_TYPE)
    request.app[REPRESENTATIONS].put(cache_key, representation)
    return representation.response(request)


async def get_site_feed(request: web.Request) -> web.Response:
    site = request.match_info["site"]
    pool = await read_pool(request)
    known = await known_site(request, site)
    rows = await recent.of_sites(pool, [site], request.app[SETTINGS].feed_entries)
    feed = Feed(
        urn("site-comments", site),
        f"Recent comments on {known.title}",
        self_url(request),
        known.title,
    )
    return atom_response(request, atom.document(feed, rows))


async def get_label_feed(request: web.Request) -> web.Response:
    site, label = request.match_info["site"], path_label(request)
    pool = await read_pool(request)
    known = await known_site(request, site)
    entries = request.app[SETTINGS].feed_entries
    rows = await threads.label_posts(pool, site, label_key(label), None, entries)
    posts = [dict(row) | {"site": site} for row in rows[:entries]]
    feed = Feed(
        urn("label-posts", site, label_key(label)),
        f"{known.title}: posts labelled {label}",
        self_url(request),
        known.title,
    )
    return atom_response(request, atom.document(feed, posts, posts=True))


async def get_group_feed(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    pool = await read_pool(request)
    sites = await group_sites(request, group)
    rows = await recent.of_sites(pool, sites, request.app[SETTINGS].feed_entries)
    feed = Feed(
        urn("group-comments", group), f"Recent comments in {group}", self_url(request), group
    )
    return atom_response(request, atom.document(feed, rows))


async def get_group_comments_feed(request: web.Request) -> web.Response:
    """`/v1/groups/{group}/comments.atom`: the same feed, at the address the site's has."""
    return await get_group_feed(request)
