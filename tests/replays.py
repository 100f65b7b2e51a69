"""Replaying the whole log into a scratch schema, to compare with the live models."""

from service.db import Connection
from service.eventstore import store
from service.ops.rebuild import prepare
from service.projections import apply_all


async def replay_into(connection: Connection, schema: str) -> None:
    """Every inline model rebuilt from the whole log in `schema`, left there. Appends wait
    meanwhile, so the replay holds every committed event, however old the oldest transaction
    on the cluster (which holds back what `read_all` may show)."""
    await prepare(connection, schema)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            await apply_all(connection, await store.read_rest_locked(connection, store.START))
    finally:
        await connection.execute("RESET search_path")
