"""Executing commands: lock the posts, decide, append, update the read models; one transaction.

Commands that arrive together are written together: a writer takes what is queued, for
whichever posts, and commits it as one batch (its posts locked in ascending key order, so
batches of other writers or processes cannot deadlock with it), so a busy site pays one lock
statement, one append and one commit for many comments instead of one each. By default there
is one writer: a few small batches in parallel cost about twice the CPU per comment of one
large one. With more writers, commands are sharded by post. A post's commands always go to the
same writer and are decided alone, in arrival order, against the state their predecessors left
(a delete is routed by its comment, so it may be decided before a reply that arrived just
before it). Concurrent writers to one post (deletes, other processes) queue on its lock; the
rare conflicts that get past it (two first publishes of one post) are retried with fresh
state, so a busy thread never answers 409 or 5xx.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from service.db import Connection, DatabaseUnavailable, Pool, closed
from service.domain.commands import Command, NamesComment, NamesPost, SiteCommand
from service.domain.errors import DomainError
from service.eventstore.appends import StaleTransactionOrder
from service.logs import RequestContext
from service.metrics import Metrics
from service.settings import Settings
from service.write import site_writes
from service.write.batches import Outcome, Pending, Result, write_batch
from service.write.idempotency import Idempotency

log = logging.getLogger("threadlog.write")

MAX_ATTEMPTS = 20
WRITERS: int = Settings.model_fields["writers"].default
BATCH_SIZE: int = Settings.model_fields["batch_size"].default
RETRYABLE = (
    StaleTransactionOrder,
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)

T = TypeVar("T")


class ServiceStopping(DomainError):
    """A command that arrived after the service began to shut down: another instance (or this
    one, restarted) takes it."""

    status, slug, title = 503, "shutting-down", "Shutting down"

    def __init__(self, detail: str = "the service is shutting down; try again shortly") -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": "1"}


class Application:
    def __init__(
        self,
        pool: Pool,
        writers: int = WRITERS,
        batch_size: int = BATCH_SIZE,
        committed: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool = pool
        self.batch_size = batch_size
        self.committed = committed
        self.metrics = metrics
        # One queue and at most one writer per shard; a post's commands always share a shard,
        # so this process's writers never wait for each other's locks.
        self.queues: list[list[Pending]] = [[] for _ in range(writers)]
        self.writers: dict[int, asyncio.Task[None]] = {}
        self.site_writes: set[asyncio.Task[Any]] = set()
        self.closing = False
        if metrics is not None:
            metrics.watch_queue(self.queue_depth)

    def queue_depth(self) -> int:
        return sum(map(len, self.queues))

    async def execute(
        self, command: Command, metadata: dict[str, Any], idempotency: Idempotency | None = None
    ) -> Outcome:
        """Decide and store `command`; raises the DomainError that refuses it, or
        DatabaseUnavailable when the database went away (the outcome is then unknown)."""
        if self.closing:
            raise ServiceStopping()
        if isinstance(command, SiteCommand):
            # Rare, so not batched: one command, one transaction (see site_writes.py).
            site_command = command
            write = asyncio.ensure_future(
                self.in_transaction(
                    lambda connection: site_writes.write(connection, site_command, metadata)
                )
            )
            self.site_writes.add(write)
            write.add_done_callback(self.site_writes.discard)
            # Like a batch, a write outlives a cancelled request: cut short, it would leave
            # its connection mid-operation and its outcome unknown for no reason.
            outcome = Outcome(await asyncio.shield(write))
            if self.metrics is not None:
                self.metrics.appended(event.type for event in outcome.events)
            return outcome
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        shard = hash(routing_key(command)) % len(self.queues)
        self.queues[shard].append(Pending(command, metadata, idempotency, future))
        if shard not in self.writers:
            self.writers[shard] = asyncio.create_task(self.write(shard))
        # A cancelled request does not cancel its write: the batch may hold others' commands.
        return await asyncio.shield(future)

    async def in_transaction(
        self, work: Callable[[Connection], Awaitable[T]], begins: bool = False
    ) -> T:
        """`work` in one transaction, run again with fresh state after a conflict. When
        `begins`, `work` sends BEGIN itself, with its first statement (one round trip less)."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self.pool.acquire() as connection:
                    if begins:
                        result = await begun_transaction(connection, work)
                    else:
                        async with connection.transaction():
                            result = await work(connection)
                self.committed()
                return result
            except RETRYABLE:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Refuse new commands and finish the queued ones."""
        self.closing = True
        while self.writers or self.site_writes:
            await asyncio.gather(*self.writers.values(), *self.site_writes, return_exceptions=True)

    async def write(self, shard: int) -> None:
        queue = self.queues[shard]
        try:
            while queue:
                batch = queue[: self.batch_size]
                del queue[: self.batch_size]
                try:
                    await self.commit(batch)
                finally:
                    # Whatever happened (a bug, a cancelled writer), no request waits forever.
                    interrupted = DatabaseUnavailable("the write was interrupted")
                    settle(batch, interrupted)
        finally:
            # No await between the last look at the queue and this: a command queued after
            # it finds no writer and starts one.
            del self.writers[shard]
            settle(queue, ServiceStopping())
            queue.clear()

    async def commit(self, batch: list[Pending]) -> None:
        # What is logged while this batch is written names the requests it writes for.
        with RequestContext(batch_request_ids(batch)):
            await self.commit_batch(batch)

    async def commit_batch(self, batch: list[Pending]) -> None:
        results: list[Result]
        started = time.perf_counter()
        try:
            results = await self.in_transaction(
                lambda connection: write_batch(connection, batch, begin=True), begins=True
            )
        except (DatabaseUnavailable, *RETRYABLE) as error:
            # Lost around COMMIT, the whole batch's outcome is unknown: each request answers
            # 503, and its retry (same Idempotency-Key) finds it stored or writes it once.
            results = [error] * len(batch)
        except Exception as error:
            if len(batch) > 1:
                # One command broke the batch: write each alone, so only it fails.
                for pending in batch:
                    await self.commit([pending])
                return
            results = [error]
        else:
            seconds = time.perf_counter() - started
            self.measure(batch, results, seconds)
            log.debug("committed %d commands in %.1f ms", len(batch), seconds * 1000)
        for pending, result in zip(batch, results, strict=True):
            if pending.future.done():
                continue
            if isinstance(result, BaseException):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    def measure(self, batch: list[Pending], results: list[Result], seconds: float) -> None:
        if self.metrics is None:
            return
        appended = (
            recorded.type
            for result in results
            if isinstance(result, Outcome) and not result.replayed
            for recorded in result.events
        )
        self.metrics.batch_committed(len(batch), seconds, appended)


async def begun_transaction(
    connection: Connection, work: Callable[[Connection], Awaitable[T]]
) -> T:
    """Commit what `work` did after its own BEGIN; roll it back if it failed (a COMMIT that
    failed has ended the transaction already)."""
    try:
        result = await work(connection)
    except BaseException:
        # As asyncpg's own transactions do; a connection that broke meanwhile is the pool's to
        # close, and the error to raise is the first one.
        with contextlib.suppress(Exception):
            if not closed(connection) and connection.is_in_transaction():
                await connection.execute("ROLLBACK;")
        raise
    await connection.execute("COMMIT;")
    return result


def batch_request_ids(batch: list[Pending]) -> str | None:
    ids = (pending.metadata.get("request_id") for pending in batch)
    return ",".join(dict.fromkeys(str(i) for i in ids if i)) or None


def settle(batch: list[Pending], error: BaseException) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(error)


def routing_key(command: Command) -> tuple[str, str]:
    # A delete names only its comment; it may share its post's lock with another shard.
    if isinstance(command, NamesComment):
        return command.site, command.comment_id
    if isinstance(command, NamesPost):
        return command.site, command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")
