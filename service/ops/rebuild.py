"""Rebuilding every inline model, the write side's decision state included: replay the log into
fresh tables, then swap them in.

Phase one replays without blocking anyone, into tables nobody reads: each model may take its
batches on a connection of its own, and its commits need not wait for the disk. Phase two locks
the log against appends (reads of the log go on), replays the few events that came meanwhile
and swaps the tables in, in one transaction.
"""

import asyncio
import contextlib
import gc
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType

import asyncpg

from service.db import Connection
from service.eventstore import store
from service.eventstore.store import Cursor, RecordedEvent
from service.projections import INLINE, apply_all, tables
from service.projections.statements import REPLAYING_FRESH

SCHEMA = "rebuild"
BATCH = 1000
# How many batches the reader may be ahead of the slowest lane. (More, or decoding a batch
# in pieces to let the lanes' answers in sooner, measured no faster and cost client CPU.)
AHEAD = 1
# Batches between two runs of the collector (see `collection_paused`).
COLLECT_EVERY = 10
# Writers read the decision state before they append, so they may hold a table the swap needs
# while waiting for the log the swap holds: the swap gives up quickly and tries again instead
# of waiting for PostgreSQL to find the deadlock.
LOCK_TIMEOUT = "200ms"
LOCK_ATTEMPTS = 100

Progress = Callable[[int], None]


def no_progress(done: int) -> None:
    pass


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


Lane = tuple[Connection, list[ModuleType]]


def spread(models: Sequence[ModuleType], connections: Sequence[Connection]) -> list[Lane]:
    """The models dealt over the connections in turn (the two heaviest, the write model and
    the threads, come first and third in INLINE: with three connections they go apart)."""
    lanes: list[Lane] = [(connection, []) for connection in connections]
    for index, model in enumerate(models):
        lanes[index % len(lanes)][1].append(model)
    return [lane for lane in lanes if lane[1]]


async def apply_lane(lane: Lane, batch: list[RecordedEvent]) -> None:
    connection, models = lane
    try:
        async with connection.transaction():
            for model in models:
                await model.apply(connection, batch)
    except asyncpg.UniqueViolationError:
        if not REPLAYING_FRESH.get():
            raise
        # The log holds some id twice (no command makes that, an import of another log
        # might): this batch again, as it was applied, with the statements that skip it.
        # (A savepoint around each fresh insert cost two round trips per batch and model.)
        fresh = REPLAYING_FRESH.set(False)
        try:
            await apply_lane(lane, batch)
        finally:
            REPLAYING_FRESH.reset(fresh)


async def replay(lanes: list[Lane], progress: Progress, source: Connection) -> tuple[Cursor, int]:
    """Apply the log from its start, a batch at a time, each lane its models in log order.

    When `source` is not one of the lanes' connections, it reads and decodes batches ahead
    while the lanes apply earlier ones, and no lane waits for the others at each batch: models
    own separate tables, so a lane may be a batch or two ahead of another (a lane that waited
    for the slowest one left its server process idle)."""
    read_ahead = all(source is not connection for connection, _ in lanes)
    # Each lane's batches to come; an empty batch ends them. The reader may be AHEAD batches
    # past the slowest lane, or, on a lane's connection, reads only while every lane is idle.
    queues = [asyncio.Queue[list[RecordedEvent]](AHEAD if read_ahead else 1) for _ in lanes]
    # For each batch being applied (by its last event): the lanes that have not finished it.
    pending: dict[Cursor, int] = {}
    end: list[tuple[Cursor, int]] = []
    finished = 0

    async def read() -> None:
        """On a lane's connection: a batch once every lane is done with the last."""
        cursor, replayed = store.START, 0
        while True:
            for queue in queues:
                await queue.join()
            batch = await store.read_all(source, cursor, BATCH)
            if await handed_on(batch):
                end.append((cursor, replayed))
                return
            cursor = batch[-1].cursor
            replayed += len(batch)

    async def read_while_decoding() -> None:
        """`read` on a connection of its own: the server reads the next batch (10 ms of its
        time per 1,000 events) while this one is decoded (40 ms of the client's)."""
        cursor, replayed = store.START, 0
        fetching = asyncio.ensure_future(store.fetch_all(source, cursor, BATCH))
        try:
            while True:
                fetched = await fetching
                if fetched.cursor is not None:
                    fetching = asyncio.ensure_future(store.fetch_all(source, fetched.cursor, BATCH))
                    await asyncio.sleep(0)  # the next query goes out before decoding starts
                batch = store.decoded(fetched)
                if await handed_on(batch):
                    end.append((cursor, replayed))
                    return
                cursor = batch[-1].cursor
                replayed += len(batch)
        finally:
            fetching.cancel()

    async def handed_on(batch: list[RecordedEvent]) -> bool:
        """Puts the batch in every lane's queue; True when it is the empty one that ends them."""
        if batch:
            pending[batch[-1].cursor] = len(lanes)
        for queue in queues:
            await queue.put(batch)
        return not batch

    async def apply(lane: Lane, queue: asyncio.Queue[list[RecordedEvent]]) -> None:
        nonlocal finished
        REPLAYING_FRESH.set(True)  # this task's own context: the replay's lanes alone
        while batch := await queue.get():
            await apply_lane(lane, batch)
            pending[batch[-1].cursor] -= 1
            if not pending[batch[-1].cursor]:
                del pending[batch[-1].cursor]
                progress(len(batch))
                finished += 1
                if finished % COLLECT_EVERY == 0:
                    gc.collect(1)
            queue.task_done()

    with collection_paused():
        async with together() as running:
            running.create_task(read_while_decoding() if read_ahead else read())
            for lane, queue in zip(lanes, queues, strict=True):
                running.create_task(apply(lane, queue))
    return end[0]


@contextlib.asynccontextmanager
async def together() -> AsyncIterator[asyncio.TaskGroup]:
    """A task group: a task that fails cancels the others, so every connection is free
    afterwards, and its error is raised as it came (the CLI explains a lost database, say,
    whichever task saw it)."""
    try:
        async with asyncio.TaskGroup() as running:
            yield running
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """The collector's automatic runs, paused: a replay makes objects by the million, almost
    all freed by their batch's end, and the collector would walk them again and again (a
    tenth of a replay's time). The caller collects every few batches instead: a run walks
    every batch in flight (5 ms a run, run after each batch it took a tenth of the client's
    time), and a replay of 100,000 events left it nothing to find."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


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
