"""Waking readers of the log when something may have been appended.

A wake-up is only a hint: readers always re-read from their cursor, and poll anyway, so a lost
hint delays an event and never loses it. This process's writers wake its readers directly;
other processes hear of their commits through NOTIFY, sent after the commit from a connection
of its own (a NOTIFY inside the append transaction would serialise every commit), at most one
at a time, coalescing the commits that happen meanwhile.
"""

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger("threadlog.wakeup")

CHANNEL = "threadlog_events"


class Wakeup:
    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.generation = 0
        self.pending_notify = asyncio.Event()
        self.connection: asyncpg.Connection | None = None
        self.task: asyncio.Task[None] | None = None
        self.database_url = ""

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

    async def start(self, database_url: str) -> None:
        self.database_url = database_url
        await self.connect()
        self.task = asyncio.create_task(self.notify_loop())

    async def connect(self) -> None:
        self.connection = await asyncpg.connect(self.database_url)
        await self.connection.add_listener(CHANNEL, lambda *_: self.wake())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.connection is not None:
            await self.connection.close()

    async def notify_loop(self) -> None:
        while True:
            await self.pending_notify.wait()
            self.pending_notify.clear()
            try:
                if self.connection is None or self.connection.is_closed():
                    await self.connect()
                assert self.connection is not None
                await self.connection.execute(f"NOTIFY {CHANNEL}")
            except (asyncpg.PostgresError, OSError):
                # Readers poll as well; a lost hint only delays them.
                log.warning("could not send a wake-up NOTIFY; reconnecting", exc_info=True)
                self.connection = None
                await asyncio.sleep(1)
