"""Server-Sent Events responses, as both live streams send them: written with a bounded wait,
kept alive by a comment line when idle, kept open while the database is away, and ended at once,
with a reconnection hint, when the service shuts down."""

import asyncio
import contextlib
import random
import time

from aiohttp import web

from service.http.cors import add_cors_headers
from service.keys import METRICS, STOPPING
from service.settings import Settings
from service.subscriptions.tail import LogTail

HEARTBEAT = b": heartbeat\n\n"
# While the database is away, a stream tries again this often; it keeps its client and cursor.
DATABASE_RETRY_SECONDS = 0.25
# At shutdown, clients are told to come back after this many milliseconds: spread out, so a
# thousand of them do not all reconnect (to another instance) at the same moment.
RECONNECT_MILLISECONDS = (500, 2500)
GOODBYE_SECONDS = 1.0
# The live streams' handlers, and the kind of stream each serves (a metrics label).
STREAM_KINDS = {"get_comment_stream": "public", "get_event_stream": "events"}


class EventStream:
    def __init__(self, request: web.Request, settings: Settings) -> None:
        self.request = request
        self.response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        self.patience = settings.stream_write_timeout_seconds
        self.heartbeat_seconds = settings.stream_heartbeat_seconds
        self.last_sent = time.monotonic()
        self.stopping = request.app[STOPPING]
        self.gone = False

    async def open(self) -> None:
        try:
            add_cors_headers(self.request, self.response)
            await self.response.prepare(self.request)
        except ConnectionError:
            # The client left before the stream began: as expected as leaving later.
            self.gone = True
        else:
            self.count_while_open()
        self.last_sent = time.monotonic()

    def count_while_open(self) -> None:
        """Counts the stream as open until its handler ends, however it ends."""
        route = self.request.match_info.route
        kind = STREAM_KINDS.get(route.name or "")
        if kind is None:
            return
        gauge = self.request.app[METRICS].live_streams.labels(kind)
        gauge.inc()
        self.request.task.add_done_callback(lambda _: gauge.dec())

    def quiet_seconds(self) -> float:
        """How long until the next heartbeat is due."""
        return max(0.0, self.last_sent + self.heartbeat_seconds - time.monotonic())

    @property
    def connected(self) -> bool:
        """Whether to go on: the client is there and the service is not shutting down."""
        transport = self.request.transport
        alive = transport is not None and not transport.is_closing()
        return alive and not self.gone and not self.stopping.is_set()

    async def send(self, chunk: bytes) -> None:
        """Write, or drop a client that does not read: nothing is buffered without bound."""
        try:
            await asyncio.wait_for(self.response.write(chunk), self.patience)
        except TimeoutError:
            # Closing would wait for the unread buffer to drain; aborting frees it now.
            if self.request.transport is not None:
                self.request.transport.abort()
            self.gone = True
        except ConnectionError:
            self.gone = True  # the client left while we wrote
        else:
            self.last_sent = time.monotonic()

    async def keep_alive(self) -> None:
        """Send a heartbeat when nothing was sent for a while, so proxies keep the line open."""
        if time.monotonic() - self.last_sent >= self.heartbeat_seconds:
            await self.send(HEARTBEAT)

    async def idle(self, tail: LogTail, topic: str, mark: int) -> None:
        """Wait, sending heartbeats meanwhile, until the tail sees an event of `topic` after
        `mark`, the client leaves or the service stops."""
        while self.connected and not await tail.wait(topic, mark, self.quiet_seconds()):
            await self.keep_alive()

    async def finish(self) -> web.StreamResponse:
        """The response, ended. When the service is shutting down, the client is first told
        when to reconnect (`retry:`); it resumes from its Last-Event-ID like after any drop."""
        if self.stopping.is_set() and not self.gone:
            hint = f"retry: {random.randint(*RECONNECT_MILLISECONDS)}\n\n".encode()
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(self.response.write(hint), GOODBYE_SECONDS)
        return self.response
