"""Server-Sent Events responses, as both live streams send them: written with a bounded wait,
and kept alive by a comment line when idle."""

import asyncio
import time

from aiohttp import web

from service.settings import Settings

HEARTBEAT = b": heartbeat\n\n"


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

    async def open(self) -> None:
        await self.response.prepare(self.request)
        self.last_sent = time.monotonic()

    @property
    def connected(self) -> bool:
        transport = self.request.transport
        return transport is not None and not transport.is_closing()

    async def send(self, chunk: bytes) -> None:
        """Write, or drop a client that does not read: nothing is buffered without bound."""
        try:
            await asyncio.wait_for(self.response.write(chunk), self.patience)
        except TimeoutError:
            # Closing would wait for the unread buffer to drain; aborting frees it now.
            if self.request.transport is not None:
                self.request.transport.abort()
            raise ConnectionResetError("the client stopped reading") from None
        self.last_sent = time.monotonic()

    async def keep_alive(self) -> None:
        """Send a heartbeat when nothing was sent for a while, so proxies keep the line open."""
        if time.monotonic() - self.last_sent >= self.heartbeat_seconds:
            await self.send(HEARTBEAT)
