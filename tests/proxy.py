"""A TCP proxy between the service and PostgreSQL that can lose a COMMIT: the network failing
at the worst moment, with a real server on either side (nothing about the database is mocked).

Armed, it acts on the next simple-query `COMMIT;` a client sends (how asyncpg ends a
transaction): `before` drops it and cuts both sides, so the server rolls back; `after` passes it
on, waits for the server's answer and cuts the client off without it, so the server committed
and the client cannot know.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

COMMIT = b"Q\x00\x00\x00\x0cCOMMIT;\x00"

Moment = Literal["before", "after"]


@dataclass
class Proxy:
    target_port: int
    port: int = 0
    armed: Moment | None = None
    # How many COMMITs were lost, and at which moment.
    lost: list[Moment] = field(default_factory=list)
    links: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def arm(self, moment: Moment) -> None:
        self.armed = moment

    async def link(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.links.add(task)
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_out.close()
            return
        try:
            withhold = asyncio.Event()  # set: the server's next answer is not passed on
            upstream = asyncio.create_task(self.forward(client_in, server_out, withhold))
            downstream = asyncio.create_task(answer(server_in, client_out, withhold))
            await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
            for task_ in (upstream, downstream):
                task_.cancel()
            await asyncio.gather(upstream, downstream, return_exceptions=True)
        finally:
            client_out.transport.abort()
            server_out.transport.abort()
            self.links.discard(task)

    async def forward(
        self,
        client_in: asyncio.StreamReader,
        server_out: asyncio.StreamWriter,
        withhold: asyncio.Event,
    ) -> None:
        while chunk := await client_in.read(65536):
            moment = self.armed
            if moment is not None and COMMIT in chunk:
                self.armed = None
                self.lost.append(moment)
                if moment == "before":
                    return  # cut both sides: the server rolls back
                withhold.set()
            server_out.write(chunk)
            await server_out.drain()
        await asyncio.Event().wait()  # the client hung up; the other direction ends the link


async def answer(
    server_in: asyncio.StreamReader, client_out: asyncio.StreamWriter, withhold: asyncio.Event
) -> None:
    while chunk := await server_in.read(65536):
        if withhold.is_set():
            # The server's answer to COMMIT (CommandComplete, ReadyForQuery) never reaches the
            # client: the transaction committed, and the client's connection breaks.
            return
        client_out.write(chunk)
        await client_out.drain()


@contextlib.asynccontextmanager
async def proxying(target_port: int) -> AsyncIterator[Proxy]:
    proxy = Proxy(target_port)
    server = await asyncio.start_server(proxy.link, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        for task in list(proxy.links):
            task.cancel()
        await asyncio.gather(*proxy.links, return_exceptions=True)
        await server.wait_closed()
