"""A real HTTP receiver for webhook tests, on a free loopback port."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Decides each answer from the number of the request (1, 2, ...); default: 204.
Answer = Callable[[int], int]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str = ""
    answer: Answer = lambda number: 204
    delay_seconds: float = 0.0
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # The answered requests, by status code.
    answered: dict[int, int] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        # Counted before the answer leaves: the dispatcher records the delivery and moves the
        # webhook's checkpoint only after it arrives (see `checkpointed` in the webhook tests).
        received = Received(dict(request.headers), await request.read())
        self.requests.append(received)
        status = received.status = self.answer(len(self.requests))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        self.answered[status] = self.answered.get(status, 0) + 1
        self.arrived.set()
        return web.Response(status=status)

    def accepted_ids(self) -> list[str]:
        """Event ids in the order they were first answered with a 2xx."""
        ok = [r.headers["webhook-id"] for r in self.requests if 200 <= r.status < 300]
        return list(dict.fromkeys(ok))

    def first_arrivals(self) -> list[str]:
        return list(dict.fromkeys(r.headers["webhook-id"] for r in self.requests))


@asynccontextmanager
async def receiving(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
