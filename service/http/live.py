"""GET /v1/sites/{site}/posts/{post}/comments/stream: one post's public comment events, live,
as Server-Sent Events, for readers (no key).

Within one post's stream the versions are committed in order (appends hold the post's lock
until they commit), so the stream version is a cursor that never skips a late commit: `id:` is
it, and a client that reconnects with Last-Event-ID resumes right after the last event it got.
Each connection first sends a `ready` message whose id is where it starts; a widget loads the
thread after it, so nothing falls between the page and the stream (a comment in both is shown
once, by id). Each message carries the comment as the public thread shows it when the message
is sent (a tombstone, `deleted` set, while it is hidden: held, rejected or deleted), so a held
comment is never shown and every reader converges on the thread's state; nothing else is sent:
no body source, no reasons, no hashes or tokens. Like the key holders' stream, an idle stream
waits for the process's shared tail to see an event of its post and costs no query of its own.
Woken, it first asks for the thread's stamp (the last event applied to the post, looked up for
all woken readers in one query) and reads the log only when it moved, in a read shared by every
reader at the same place, so many readers cost little more than one.
"""

from functools import partial

from aiohttp import web

from service.db import DatabaseUnavailable, Pool
from service.eventstore import store
from service.eventstore.codec import JsonObject, compact
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import post_stream_id
from service.http.existence import current_thread
from service.http.keys import LIVE_PAGES
from service.http.limits import stream_slot
from service.http.live_pages import Page
from service.http.problems import Problem
from service.http.sse import DATABASE_RETRY_SECONDS, EventStream
from service.keys import LOG_TAIL, POOL, SETTINGS, STAMPS
from service.read import threads

PAGE = 200
# Every event that can change what the public thread shows of a comment.
PUBLIC_TYPES = [
    "comment.posted",
    "comment.replied",
    "comment.deleted",
    "comment.held",
    "comment.approved",
    "comment.rejected",
    "comment.restored",
    "comment.edited",
    "comment.erased",
]
MAX_VERSION = 2**31 - 1


async def get_comment_stream(request: web.Request) -> web.StreamResponse:
    site, post_id = request.match_info["site"], request.match_info["post"]
    after = resume_version(request)
    await current_thread(request, site, post_id)
    tail, pool, pages = request.app[LOG_TAIL], request.app[POOL], request.app[LIVE_PAGES]
    stream_id = post_stream_id(site, post_id)
    if after is None:
        after = await store.stream_version(pool, stream_id)
    with stream_slot(request):
        stream = EventStream(request, request.app[SETTINGS])
        await stream.open()
        await stream.send(f"id: {after}\nevent: ready\ndata: {{}}\n\n".encode())
        seen: int | None = None  # the stamp whose events have all been sent
        while stream.connected:
            mark = tail.mark()
            try:
                # Woken by the log, perhaps before any hint of the write (see read/stamps.py).
                stamp = await request.app[STAMPS].get_current(site, post_id)
                if stamp is None or stamp.deleted:
                    break
                page = None
                if stamp.position != seen:
                    page_key = (stream_id, after, stamp.position)
                    read = partial(read_page, pool, site, post_id, after)
                    page = await pages.read(page_key, read)
            except DatabaseUnavailable:
                # The reader keeps its stream and its place: nothing is lost, only delayed.
                await stream.keep_alive()
                await tail.wait(stream_id, mark, DATABASE_RETRY_SECONDS)
                continue
            if page is not None:
                chunk, after = page
                await stream.send(chunk)
                continue
            seen = stamp.position
            await stream.idle(tail, stream_id, mark)
        return await stream.finish()


async def read_page(pool: Pool, site: str, post_id: str, after: int) -> Page:
    stream_id = post_stream_id(site, post_id)
    events = await store.read_stream_after(pool, stream_id, after, PUBLIC_TYPES, PAGE)
    if not events:
        return None
    ids = list({event.data["comment_id"] for event in events})
    found = await threads.comments(pool, site, post_id, ids)
    views = {view["id"]: view for view in map(threads.comment_view, found)}
    chunk = "".join(message(event, views) for event in events)
    return chunk.encode(), events[-1].version


def message(event: RecordedEvent, views: dict[str, JsonObject]) -> str:
    data = views.get(event.data["comment_id"])
    if data is None:  # the read model is written with the event; only a rebuild's swap races
        return ""
    return f"id: {event.version}\nevent: {event.type}\ndata: {compact(data)}\n\n"


def resume_version(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID")
    if text is None:
        text = request.query.get("after")
    if text is None or text == "":
        return None
    if len(text) > 10 or not text.isascii() or not text.isdigit() or int(text) > MAX_VERSION:
        raise Problem(400, "Last-Event-ID or after must be the id of a message of this stream")
    return int(text)
