"""Bounds on what one request may hold: its body must arrive in time, and live streams are
capped in total and per client address (answered 503 or 429, with Retry-After)."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from service.access.concurrency import Refused
from service.http.auth import client
from service.http.keys import STREAM_SLOTS
from service.http.problems import Problem
from service.keys import SETTINGS

log = logging.getLogger("threadlog.http")

# A client refused a stream is told to try again after this long; a service that is full
# spreads its callers over a minute.
STREAM_RETRY_SECONDS = {Refused.CLIENT: 30, Refused.TOTAL: 60}
STREAM_REFUSALS = {
    Refused.TOTAL: (503, "the service holds as many live streams as it may; try again later"),
    Refused.CLIENT: (429, "this address holds as many live streams as it may; close one first"),
}


@contextmanager
def stream_slot(request: web.Request) -> Iterator[None]:
    """Hold one of the live-stream slots while the stream is open; 503 (the service's cap)
    or 429 (this client's) when there is none."""
    slots, holder = request.app[STREAM_SLOTS], client(request)
    refused = slots.take(holder)
    if refused is not None:
        log.debug("stream refused: the %s cap (%d open)", refused, slots.count)
        status, detail = STREAM_REFUSALS[refused]
        raise Problem(
            status,
            detail,
            slug="too-many-streams",
            title="Too many streams",
            headers={"Retry-After": str(STREAM_RETRY_SECONDS[refused])},
        )
    try:
        yield
    finally:
        slots.give_back(holder)


def body_pending(request: web.Request) -> bool:
    """Whether some of the body has yet to arrive (most bodies come with their headers)."""
    return request.body_exists and not request.content.is_eof()


async def read_body_in_time(request: web.Request) -> None:
    """Read the body within `body_timeout_seconds`: a client trickling its body holds a
    connection and a handler for that long at most (408 then, and the connection closes)."""
    seconds = request.app[SETTINGS].body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            await request.read()
    except TimeoutError:
        log.debug("body timeout: %s %s", request.method, request.path)
        raise Problem(
            408,
            f"the request body did not arrive within {seconds:g} s",
            slug="request-timeout",
            title="Request timeout",
            headers={"Connection": "close"},
        ) from None
    except web.RequestPayloadError:
        pass  # malformed: the handler's own read says how (400)
