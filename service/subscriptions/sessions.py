"""The connection a worker keeps of its own to hold session advisory locks (the webhook
dispatcher's and the NATS relay's): the locks last exactly as long as the session, so a worker
whose connection died fails at its next query and starts over, waiting for its locks like any
newcomer."""

import contextlib
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def lock_session(
    database_url: str, application_name: str
) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(
        database_url, command_timeout=30, server_settings={"application_name": application_name}
    )
    try:
        yield connection
    finally:
        # Ending the session releases its advisory locks; a connection that cannot close
        # cleanly is cut, which releases them too.
        try:
            await connection.close(timeout=5)
        except Exception:
            connection.terminate()
