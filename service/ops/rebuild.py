"""Rebuilding every read model: replay the log into fresh tables, then swap them in.

Phase one replays without blocking anyone. Phase two locks the log against appends (reads go
on), replays the few events that came meanwhile and swaps the tables in one transaction.
"""

from collections.abc import Callable

from service.db import Connection
from service.eventstore import store
from service.eventstore.store import Cursor
from service.projections import INLINE, apply_all, tables

SCHEMA = "rebuild"
BATCH = 1000

Progress = Callable[[int], None]


def no_progress(done: int) -> None:
    pass


async def rebuild(connection: Connection, progress: Progress = no_progress) -> int:
    """Rebuild all inline read models; returns the number of events replayed."""
    await prepare(connection, SCHEMA)
    try:
        cursor, replayed = await replay(connection, progress)
        async with connection.transaction():
            await connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            rest = await store.read_rest_locked(connection, cursor)
            await apply_all(connection, rest)
            progress(len(rest))
            await swap(connection, rest[-1].cursor if rest else cursor)
        return replayed + len(rest)
    finally:
        await connection.execute("RESET search_path")
        await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


async def replay_into(connection: Connection, schema: str) -> Cursor:
    """Replay the whole log into fresh read-model tables in `schema`, and leave them there.

    Appends wait meanwhile, so the replay holds every committed event, however old the
    oldest transaction on the cluster (which holds back what `read_all` may show).
    """
    await prepare(connection, schema)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            events = await store.read_rest_locked(connection, store.START)
            await apply_all(connection, events)
    finally:
        await connection.execute("RESET search_path")
    return events[-1].cursor if events else store.START


async def prepare(connection: Connection, schema: str) -> None:
    await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await connection.execute(f"CREATE SCHEMA {schema}")
    for table in tables():
        await connection.execute(
            f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
        )
    # Projections name their tables unqualified; during the replay they resolve here.
    await connection.execute(f"SET search_path = {schema}, public")


async def replay(connection: Connection, progress: Progress) -> tuple[Cursor, int]:
    cursor, replayed = store.START, 0
    while True:
        async with connection.transaction():
            batch = await store.read_all(connection, cursor, BATCH)
            await apply_all(connection, batch)
        if not batch:
            return cursor, replayed
        cursor = batch[-1].cursor
        replayed += len(batch)
        progress(len(batch))


async def swap(connection: Connection, cursor: Cursor) -> None:
    for table in tables():
        await connection.execute(f"DROP TABLE public.{table}")
        await connection.execute(f"ALTER TABLE {SCHEMA}.{table} SET SCHEMA public")
    for projection in INLINE:
        await connection.execute(
            """INSERT INTO public.projection_checkpoints (name, transaction_id, position)
               VALUES ($1, $2::text::xid8, $3)
               ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
                   position = excluded.position, updated_at = now()""",
            projection.NAME,
            str(cursor.transaction_id),
            cursor.position,
        )


async def count_events(connection: Connection) -> int:
    total: int = await connection.fetchval("SELECT count(*) FROM events")
    return total
