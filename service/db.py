"""The connection pool."""

import asyncpg

from service.settings import Settings


async def create_pool(settings: Settings, database_url: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # Reads and writes are short; a stuck statement should fail, not hold a connection.
        command_timeout=30,
        server_settings={"application_name": "threadlog"},
    )
    assert pool is not None
    return pool
