"""Waking readers of the log when something may have been appended.

A wake-up is only a hint: readers always re-read from their cursor, and poll anyway, so a lost
hint delays an event and never loses it. This process's writers wake its readers directly;
other processes hear of their commits through NOTIFY, sent after the commit from a connection
of its own (a NOTIFY inside the append transaction would serialise every commit), at most one
at a time, coalescing the commits that happen meanwhile. That connection also LISTENs; when it
dies (a restart, a failover) it is replaced, and everyone re-reads once it is back.

The same connection listens on other channels for whoever asks (`listen`): sites' changes, so
that every process's caches follow a change made in another.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from service.db import Outage

log = logging.getLogger("threadlog.wakeup")

CHANNEL = "threadlog_events"
# How soon a lost LISTEN connection is noticed and replaced (and retried while the database
# is away).
CHECK_SECONDS = 0.25


class Wakeup:
    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.generation = 0
        self.pending_notify = asyncio.Event()
        self.connection: asyncpg.Connection | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.database_url = ""
        self.outage = Outage(log, "the wake-up connection")
        self.listeners: dict[str, Callable[[str | None], None]] = {}

    def wake(self) -> None:
        self.generation += 1
        self.changed.set()
        self.changed = asyncio.Event()

    def committed(self) -> None:
        """Called after each commit of this process's writers."""
        self.wake()
        self.pending_notify.set()

    async def wait(self, generation: int, seconds: float) -> None:
        """Return once something happened after `generation` was read, or after `seconds`."""
        if self.generation != generation:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), seconds)

    def listen(self, channel: str, heard: Callable[[str | None], None]) -> None:
        """Before `start`: call `heard` with each NOTIFY's payload on `channel`, and with None
        once the connection is back after it was lost (notices may have been missed)."""
        self.listeners[channel] = heard

    async def start(self, database_url: str) -> None:
        self.database_url = database_url
        await self.connect()
        self.tasks = [
            asyncio.create_task(self.notify_loop()),
            asyncio.create_task(self.keep_listening()),
        ]

    async def connect(self) -> None:
        connection = await asyncpg.connect(
            self.database_url,
            timeout=10,
            command_timeout=10,
            server_settings={"application_name": "threadlog-wakeup"},
        )
        await connection.add_listener(CHANNEL, lambda *_: self.wake())
        for channel, heard in self.listeners.items():
            await connection.add_listener(channel, self.relay_to(heard))
        self.connection = connection

    @staticmethod
    def relay_to(heard: Callable[[str | None], None]) -> Callable[..., None]:
        def on_notice(connection: object, pid: int, channel: str, payload: str) -> None:
            heard(payload)

        return on_notice

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.connection is not None:
            try:
                await self.connection.close(timeout=2)
            except Exception:
                self.connection.terminate()

    def listening(self) -> bool:
        return self.connection is not None and not self.connection.is_closed()

    async def keep_listening(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            if self.listening():
                continue
            try:
                await self.connect()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                self.outage.lost(error)
                continue
            self.outage.resumed()
            # Hints may have been lost meanwhile, here and elsewhere: everyone reads again.
            self.committed()
            for heard in self.listeners.values():
                heard(None)

    async def notify_loop(self) -> None:
        while True:
            await self.pending_notify.wait()
            self.pending_notify.clear()
            if not self.listening():
                continue  # sent again once the connection is back
            assert self.connection is not None
            try:
                await self.connection.execute(f"NOTIFY {CHANNEL}")
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                # Readers poll as well; a lost hint only delays them.
                self.outage.lost(error)
                self.connection.terminate()
