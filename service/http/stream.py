"""GET /v1/events/stream: the key's site's events as Server-Sent Events, live.

The stream reads the log from its own cursor until it has sent everything, then waits for the
process's shared tail (service/subscriptions/tail.py) to see an event of its site: an idle
stream costs no query of its own. `id:` is the event's cursor, so a client that reconnects
with Last-Event-ID resumes exactly after the last event it received.
"""

from aiohttp import web

from service.access.credentials import Role
from service.db import DatabaseUnavailable
from service.domain.events import EVENT_TYPES
from service.eventstore import store
from service.eventstore.cloudevents import cloud_event_json
from service.eventstore.cursors import START, Cursor
from service.http.auth import require_key
from service.http.limits import stream_slot
from service.http.parsing import query_text
from service.http.problems import Problem
from service.http.sse import DATABASE_RETRY_SECONDS, EventStream
from service.keys import LOG_TAIL, POOL, SETTINGS

PAGE = 500


async def get_event_stream(request: web.Request) -> web.StreamResponse:
    key = await require_key(request, None, Role.SUBSCRIBER, Role.MODERATOR)
    cursor = resume_cursor(request)
    types = type_filter(request)
    tail, pool = request.app[LOG_TAIL], request.app[POOL]
    with stream_slot(request):
        stream = EventStream(request, request.app[SETTINGS])
        await stream.open()
        while stream.connected:
            mark = tail.mark()
            try:
                events = await store.read_all(pool, cursor, PAGE, site=key.site, types=types)
            except DatabaseUnavailable:
                # The client keeps its stream and its place: nothing is lost, only delayed.
                await stream.keep_alive()
                await tail.wait(key.site, mark, DATABASE_RETRY_SECONDS)
                continue
            if events:
                chunk = "".join(
                    f"id: {event.cursor}\nevent: {event.type}\ndata: {cloud_event_json(event)}\n\n"
                    for event in events
                )
                await stream.send(chunk.encode())
                cursor = events[-1].cursor
                continue
            await stream.idle(tail, key.site, mark)
        return await stream.finish()


def resume_cursor(request: web.Request) -> Cursor:
    last_event_id = request.headers.get("Last-Event-ID")
    after = last_event_id if last_event_id is not None else query_text(request, "after")
    if after is None or after == "":
        return START
    try:
        return Cursor.parse(after)
    except ValueError:
        raise Problem(400, "Last-Event-ID or after must be a cursor of an event") from None


def type_filter(request: web.Request) -> list[str] | None:
    values = [t for value in request.query.getall("types", []) for t in value.split(",") if t]
    unknown = sorted(set(values) - set(EVENT_TYPES))
    if unknown:
        raise Problem(400, f"unknown event types: {', '.join(unknown)}")
    return values or None
