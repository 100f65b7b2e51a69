"""Replaying the log into the models, a batch at a time: a reader ahead of the lanes that
apply each batch, each lane its own connection and its own models (models own separate
tables, so the lanes need not wait for each other)."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType

import asyncpg

from service.db import Connection
from service.eventstore import store
from service.eventstore.cursors import START, Cursor
from service.eventstore.store import RecordedEvent
from service.projections.statements import REPLAYING_FRESH

BATCH = 1000
# How many batches the reader may be ahead of the slowest lane. (More, or decoding a batch
# in pieces to let the lanes' answers in sooner, measured no faster and cost client CPU.)
AHEAD = 1
# Batches between two runs of the collector (see `collection_paused`).
COLLECT_EVERY = 10

Progress = Callable[[int], None]


def no_progress(done: int) -> None:
    pass


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
        cursor, replayed = START, 0
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
        cursor, replayed = START, 0
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
