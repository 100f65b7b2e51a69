"""The connection pool, and the connection type every query function takes."""

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.settings import Settings

# A pooled connection or a direct one (the CLI and tests use both). Only the stubs are generic.
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy
    Pool = asyncpg.Pool


async def create_pool(settings: Settings, database_url: str) -> Pool:
    pool: Any = await asyncpg.create_pool(
        database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # Reads and writes are short; a stuck statement should fail, not hold a connection.
        command_timeout=30,
        # An open transaction anywhere holds back the feed (see store.read_all): ours never idle.
        server_settings={
            "application_name": "threadlog",
            "idle_in_transaction_session_timeout": "60000",
        },
        reset=keep_session,
    )
    assert pool is not None
    return pool  # type: ignore[no-any-return]


async def keep_session(connection: Any) -> None:
    """Nothing to undo when a connection goes back to the pool: pooled connections never SET,
    LISTEN or take session advisory locks (those have connections of their own), and asyncpg
    rolls back an open transaction before calling this. asyncpg's default reset would cost a
    round trip per release."""
