"""Replaying the whole log into a scratch schema, to compare with the live models."""

from collections.abc import Sequence

from service.db import Connection
from service.eventstore import store
from service.eventstore.cursors import START
from service.ops.rebuild import prepare
from service.projections import apply_all, tables


async def replay_into(connection: Connection, schema: str) -> None:
    """Every inline model rebuilt from the whole log in `schema`, left there. Appends wait
    meanwhile, so the replay holds every committed event, however old the oldest transaction
    on the cluster (which holds back what `read_all` may show)."""
    await prepare(connection, schema)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            await apply_all(connection, await store.read_rest_locked(connection, START))
    finally:
        await connection.execute("RESET search_path")


def site_tables(names: Sequence[str] | None = None) -> list[str]:
    """The models' tables whose rows each belong to one site: all but `groups` (a group's own
    row belongs to none; its members, in `group_sites`, each to theirs)."""
    return [table for table in names or tables() if table != "groups"]
