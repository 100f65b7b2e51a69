"""Rebuilding every inline model, the write side's decision state included: replay the log into
fresh tables, then swap them in.

Phase one replays without blocking anyone, into tables nobody reads: each model may take its
batches on a connection of its own, and its commits need not wait for the disk. Phase two locks
the log against appends (reads of the log go on), replays the few events that came meanwhile
and swaps the tables in, in one transaction.
"""

import asyncio
import random
from collections.abc import Sequence

import asyncpg

from service.db import Connection
from service.eventstore import store
from service.eventstore.cursors import Cursor
from service.ops.replay import Progress, no_progress, replay, spread, together
from service.projections import INLINE, apply_all, tables

SCHEMA = "rebuild"
# Writers read the decision state before they append, so they may hold a table the swap needs
# while waiting for the log the swap holds: the swap gives up quickly and tries again instead
# of waiting for PostgreSQL to find the deadlock.
LOCK_TIMEOUT = "200ms"
LOCK_ATTEMPTS = 100


async def rebuild(
    connection: Connection,
    progress: Progress = no_progress,
    reader: Connection | None = None,
    appliers: Sequence[Connection] = (),
) -> int:
    """Rebuild all inline models from the log alone; returns the number of events replayed.

    With a second connection, `reader`, the next batch is read and decoded while the server
    applies this one (decoding costs about as much CPU as the server spends applying). With
    `appliers`, more connections, the models are spread over them and `connection` during the
    replay, and applied in parallel (models own separate tables)."""
    lanes = [connection, *appliers]
    deferred = await prepare(connection, SCHEMA)
    try:
        for applier in appliers:
            await enter(applier, SCHEMA)
        cursor, replayed = await replay(spread(INLINE, lanes), progress, reader or connection)
        await finish(lanes, SCHEMA, deferred)
        for attempt in range(LOCK_ATTEMPTS):
            try:
                async with connection.transaction():
                    await lock_out_writers(connection)
                    rest = await store.read_rest_locked(connection, cursor)
                    await apply_all(connection, rest)
                    await swap(connection, rest[-1].cursor if rest else cursor)
                break
            except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
                if attempt == LOCK_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.01, 0.1))
        progress(len(rest))
        return replayed + len(rest)
    finally:
        for lane in lanes:
            await leave(lane)
        await connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


# The indexes that back no constraint, with their names (a copy made with LIKE would name them
# anew, and a later migration could not find them).
PLAIN_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = $1 AND i.tablename = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
ORDER BY i.indexname
"""


async def prepare(connection: Connection, schema: str) -> list[str]:
    """Empty copies of every model's tables in `schema`, which unqualified names resolve to;
    returns the definitions of the indexes to make once the replay is done. Those are the
    partial ones: they serve the read side (no projection's statement reads through one), and
    one pass over the finished table costs far less than keeping them row by row."""
    await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await connection.execute(f"CREATE SCHEMA {schema}")
    for table in tables():
        await connection.execute(
            f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
        )
    for row in await connection.fetch(PLAIN_INDEXES, schema, tables()):
        await connection.execute(f"DROP INDEX {schema}.{row['indexname']}")
    deferred = []
    for row in await connection.fetch(PLAIN_INDEXES, "public", tables()):
        definition = row["indexdef"].replace(" ON public.", f" ON {schema}.", 1)
        if " WHERE " in definition:
            deferred.append(definition)
        else:
            await connection.execute(definition)
    await enter(connection, schema)
    return deferred


async def enter(connection: Connection, schema: str) -> None:
    # Statements this connection prepared before remember how their earlier plans went, and
    # against the empty fresh tables PostgreSQL may settle at once on a generic plan that scans
    # them, then keep it while they fill (a second replay on one connection took 40 times as
    # long): they are prepared anew.
    await connection.reload_schema_state()
    await connection.execute(f"SET search_path = {schema}, public")
    # Until the swap, nothing the replay writes needs to survive a crash (a rebuild cut short
    # starts again): its commits need not wait for the disk.
    await connection.execute("SET synchronous_commit = off")


async def leave(connection: Connection) -> None:
    await connection.execute("RESET search_path")
    await connection.execute("RESET synchronous_commit")


async def finish(lanes: Sequence[Connection], schema: str, deferred: list[str]) -> None:
    """The deferred indexes, then statistics: before the tables go live, or until autovacuum
    came by the planner would take the freshly filled tables for empty ones (a write after a
    rebuild cost a fifth more). Each lane takes the next statement, rather than one connection
    making them one after another while the other core idled (a table's index builds run
    together; its statistics wait for them, by their locks)."""
    work = iter([*deferred, *(f"ANALYZE {schema}.{table}" for table in tables())])

    async def take(connection: Connection) -> None:
        for statement in work:
            await connection.execute(statement)

    async with together() as running:
        for connection in lanes:
            running.create_task(take(connection))
    await lanes[0].execute("RESET synchronous_commit")  # the swap commits as usual


async def lock_out_writers(connection: Connection) -> None:
    """Every table the swap replaces, then the log: appends wait, reads of the log go on."""
    await connection.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    public_tables = ", ".join(f"public.{table}" for table in tables())
    await connection.execute(f"LOCK TABLE {public_tables} IN ACCESS EXCLUSIVE MODE")
    await connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")


async def swap(connection: Connection, cursor: Cursor) -> None:
    for table in tables():
        await connection.execute(f"DROP TABLE public.{table}")
        await connection.execute(f"ALTER TABLE {SCHEMA}.{table} SET SCHEMA public")
    for projection in INLINE:
        await connection.execute(
            """INSERT INTO public.projection_checkpoints (name, transaction_id, position, epoch)
               VALUES ($1, $2::text::xid8, $3, $4)
               ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
                   position = excluded.position, epoch = excluded.epoch, updated_at = now()""",
            projection.NAME,
            str(cursor.transaction_id),
            cursor.position,
            cursor.epoch,
        )


async def count_events(connection: Connection) -> int:
    total: int = await connection.fetchval("SELECT count(*) FROM events")
    return total
