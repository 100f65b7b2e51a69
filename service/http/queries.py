"""GET handlers: they read projection tables only."""

from aiohttp import web

from service.access.credentials import Role
from service.domain.errors import PostGone
from service.domain.labels import label_key
from service.eventstore import store
from service.eventstore.cloudevents import cloud_event
from service.eventstore.codec import compact
from service.eventstore.cursors import START, Cursor
from service.http.auth import known_site, require_key
from service.http.cursors import keyset_cursor, parse_keyset_cursor, parse_thread_cursor
from service.http.existence import current_thread, missing_post
from service.http.keys import REPRESENTATIONS
from service.http.parsing import path_label, query_choice, query_int, query_text
from service.http.positions import carries_position, read_pool
from service.http.problems import Problem
from service.http.representations import Representation
from service.http.views import json_response, post_view
from service.keys import SETTINGS, STAMPS
from service.read import threads


async def get_post(request: web.Request) -> web.Response:
    site, post_id = request.match_info["site"], request.match_info["post"]
    row = await threads.post(await read_pool(request), site, post_id)
    if row is None:
        await missing_post(request, site, post_id)
    if row["deleted"]:
        raise PostGone(f"post {post_id!r} was deleted")
    return json_response(post_view(row))


async def get_thread(request: web.Request) -> web.Response:
    site, post_id = request.match_info["site"], request.match_info["post"]
    newest_first = query_choice(request, "sort", ("oldest", "newest")) == "newest"
    limit = query_int(request, "limit", 50, 1, 200)
    cursor = query_text(request, "cursor")
    after = parse_thread_cursor(cursor) if cursor is not None else None
    # The stamp comes from the primary, so a cached body is never older than the thread; the
    # page is read where reads go, and cached under the position it was read at.
    pool = await read_pool(request)
    stamp = await current_thread(request, site, post_id)
    cache_key = (site, post_id, newest_first, after, limit)
    cached = request.app[REPRESENTATIONS].get(cache_key, stamp.position)
    if cached is not None:
        return cached.response(request)
    page = await threads.thread_page(
        pool,
        site,
        post_id,
        newest_first=newest_first,
        after=after,
        limit=limit,
        max_bytes=request.app[SETTINGS].thread_page_bytes,
    )
    if page is None or page.deleted:
        raise Problem(404, f"post {post_id!r} does not exist")
    mail = request.app[SETTINGS].mail_enabled()
    representation = Representation.of(page.position, threads.thread_body(post_id, page, mail))
    request.app[REPRESENTATIONS].put(cache_key, representation)
    return representation.response(request)


async def get_labels(request: web.Request) -> web.Response:
    site = request.match_info["site"]
    by_count = query_choice(request, "sort", ("name", "count")) == "count"
    await known_site(request, site)
    rows = await threads.labels(await read_pool(request), site, by_count)
    labels = [{"label": row["label"], "post_count": row["post_count"]} for row in rows]
    return json_response({"labels": labels})


async def get_label_posts(request: web.Request) -> web.Response:
    site, label = request.match_info["site"], path_label(request)
    limit = query_int(request, "limit", 20, 1, 100)
    cursor = query_text(request, "cursor")
    before = parse_keyset_cursor(cursor) if cursor is not None else None
    await known_site(request, site)
    pool = await read_pool(request)
    rows = await threads.label_posts(pool, site, label_key(label), before, limit)
    page = rows[:limit]
    next_cursor = (
        keyset_cursor(page[-1]["published_at"], page[-1]["post_id"]) if len(rows) > limit else None
    )
    return json_response({"posts": [post_view(row) for row in page], "next": next_cursor})


async def get_counts(request: web.Request) -> web.Response:
    site = request.match_info["site"]
    post_ids = request.query.getall("post", [])
    if not 1 <= len(post_ids) <= 100:
        raise Problem(400, "give 1 to 100 `post` parameters")
    if any(not 1 <= len(post_id) <= 128 or "\x00" in post_id for post_id in post_ids):
        raise Problem(400, "each `post` is 1 to 128 characters")
    await known_site(request, site)
    pool = await read_pool(request)  # refuses a malformed `position` either way
    # With a replica the counts are read there (the stamps below are the primary's).
    if request.app[SETTINGS].read_database_url is not None:
        return json_response({"counts": await threads.counts(pool, site, post_ids)})
    # Concurrent readers' counts come from one lookup (see read/stamps.py), and the same
    # question's body is made once while the stamps it is made of are kept.
    stamps = request.app[STAMPS]
    keys = [(site, post_id) for post_id in post_ids]
    if carries_position(request):
        found = await stamps.get_many_current(keys)
        return json_response({"counts": threads.counts_of(found, site, post_ids)})
    question = ("counts", site, *post_ids)
    body = stamps.made_of_kept(question)
    if not isinstance(body, bytes):
        version = stamps.version
        found = await stamps.get_many(keys)
        body = compact({"counts": threads.counts_of(found, site, post_ids)}).encode()
        stamps.keep_made(question, body, version)
    return web.Response(body=body, content_type="application/json")


async def get_events(request: web.Request) -> web.Response:
    key = await require_key(request, None, Role.SUBSCRIBER, Role.MODERATOR)
    limit = query_int(request, "limit", 100, 1, 1000)
    after_text = query_text(request, "after")
    try:
        after = Cursor.parse(after_text) if after_text is not None else START
    except ValueError:
        raise Problem(400, "after is malformed; pass a `cursor` of an event") from None
    async with (await read_pool(request)).acquire() as connection:
        events = await store.read_all(connection, after, limit, site=key.site)
    next_cursor = str(events[-1].cursor) if events else after_text
    return json_response({"events": [cloud_event(e) for e in events], "next": next_cursor})
