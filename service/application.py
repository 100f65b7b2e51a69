"""Executing commands: lock the posts, decide, append, update the read models; one transaction.

Commands that arrive together are written together: a few writer tasks each take what is
queued and commit it as one batch, so a busy site pays one lock, one append and one commit for
many comments instead of one each. Each command is still decided alone, in arrival order,
against the state its predecessors left. Concurrent writers to one post (other batches, other
processes) queue on its row lock; the rare conflicts that get past it (two first publishes of
one post, a transaction id older than the last writer's) are retried with fresh state, so a
busy thread never answers 409 or 5xx.
"""

import asyncio
import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from service import decisions
from service.db import Connection, Pool
from service.domain.commands import Command, DeleteComment, DeletePost, PostComment, PublishPost
from service.domain.errors import CommentNotFound, DomainError
from service.domain.events import Event
from service.domain.thread import decide
from service.eventstore import store
from service.eventstore.store import NewEvent, RecordedEvent, StaleTransactionOrder
from service.idempotency import Idempotency, StoredResponse, find_responses, keep_responses
from service.projections import apply_all

MAX_ATTEMPTS = 20
WRITERS = 4
BATCH_SIZE = 64
RETRYABLE = (
    StaleTransactionOrder,
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[RecordedEvent]
    # Set when an Idempotency-Key was seen before: the first request's response.
    replayed: StoredResponse | None = None


@dataclass(slots=True)
class Pending:
    command: Command
    metadata: dict[str, Any]
    idempotency: Idempotency | None
    future: asyncio.Future[Outcome] = field(repr=False)


Result = Outcome | BaseException


class Application:
    def __init__(self, pool: Pool, writers: int = WRITERS, batch_size: int = BATCH_SIZE) -> None:
        self.pool = pool
        self.batch_size = batch_size
        # One queue and at most one writer per shard; a post's commands always share a shard,
        # so this process's writers never wait for each other's locks.
        self.queues: list[list[Pending]] = [[] for _ in range(writers)]
        self.writers: dict[int, asyncio.Task[None]] = {}

    async def execute(
        self, command: Command, metadata: dict[str, Any], idempotency: Idempotency | None = None
    ) -> Outcome:
        """Decide and store `command`; raises the DomainError that refuses it."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        shard = hash(routing_key(command)) % len(self.queues)
        self.queues[shard].append(Pending(command, metadata, idempotency, future))
        if shard not in self.writers:
            self.writers[shard] = asyncio.create_task(self.write(shard))
        # A cancelled request does not cancel its write: the batch may hold others' commands.
        return await asyncio.shield(future)

    async def close(self) -> None:
        while self.writers:
            await asyncio.gather(*self.writers.values(), return_exceptions=True)

    async def write(self, shard: int) -> None:
        queue = self.queues[shard]
        try:
            while queue:
                batch = queue[: self.batch_size]
                del queue[: self.batch_size]
                await self.commit(batch)
        finally:
            # No await between the last look at the queue and this: a command queued after
            # it finds no writer and starts one.
            del self.writers[shard]

    async def commit(self, batch: list[Pending]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self.pool.acquire() as connection, connection.transaction():
                    results = await write_batch(connection, batch)
                break
            except RETRYABLE as error:
                if attempt == MAX_ATTEMPTS - 1:
                    results = [error] * len(batch)
                    break
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
            except Exception as error:
                if len(batch) == 1:
                    results = [error]
                    break
                # One command broke the batch: write each alone, so only it fails.
                for pending in batch:
                    await self.commit([pending])
                return
        for pending, result in zip(batch, results, strict=True):
            if pending.future.done():
                continue
            if isinstance(result, BaseException):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)


def routing_key(command: Command) -> tuple[str, str]:
    # A delete names only its comment; it may share its post's lock with another shard.
    match command:
        case DeleteComment():
            return command.site, command.comment_id
        case PublishPost() | DeletePost() | PostComment():
            return command.site, command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")


async def write_batch(connection: Connection, batch: list[Pending]) -> list[Result]:
    """Decide every command of `batch` in order and store what they cause; one transaction."""
    results: list[Result | None] = [None] * len(batch)
    commands = [pending.command for pending in batch]
    deleted = [(c.site, c.comment_id) for c in commands if isinstance(c, DeleteComment)]
    posts_of = await decisions.posts_of_comments(connection, deleted)
    streams: list[str | None] = []
    requests = []
    for index, command in enumerate(commands):
        post_id = decisions.post_id_of(command, posts_of)
        if post_id is None:
            assert isinstance(command, DeleteComment)
            results[index] = CommentNotFound(f"comment {command.comment_id!r} does not exist")
            streams.append(None)
            continue
        stream_id = store.stream_id_for(command.site, post_id)
        streams.append(stream_id)
        requests.append((stream_id, command.site, post_id, command))
    threads = await decisions.load_for_update(connection, requests) if requests else {}
    keys = [pending.idempotency for pending in batch if pending.idempotency is not None]
    kept = await find_responses(connection, [key.key_sha256 for key in keys])
    versions = {stream_id: thread.version for stream_id, thread in threads.items()}
    new_events: list[NewEvent] = []
    owners: list[int] = []
    first_with_key: dict[bytes, int] = {}
    repeats: dict[int, int] = {}
    for index, pending in enumerate(batch):
        key = pending.idempotency
        if (target := streams[index]) is None:
            continue
        try:
            if key is not None and key.key_sha256 in kept:
                request_sha256, response = kept[key.key_sha256]
                key.check(request_sha256)
                results[index] = Outcome([], response)
                continue
            if key is not None and key.key_sha256 in first_with_key:
                first = first_with_key[key.key_sha256]
                key.check(batch[first].idempotency.request_sha256)  # type: ignore[union-attr]
                repeats[index] = first  # answered below with the first one's response
                continue
            if key is not None:
                first_with_key[key.key_sha256] = index
            thread = threads[target]
            events = decide(pending.command, thread.state)
        except DomainError as error:
            results[index] = error
            continue
        state = decisions.evolve_with(thread.state, pending.command, events)
        threads[target] = dataclasses.replace(thread, state=state)
        for event in events:
            versions[target] += 1
            new_events.append(
                NewEvent(target, versions[target], pending.command.site, event, pending.metadata)
            )
            owners.append(index)
    recorded = await append(connection, threads, versions, new_events)
    mine: dict[int, list[RecordedEvent]] = {}
    for owner, recorded_event in zip(owners, recorded, strict=True):
        mine.setdefault(owner, []).append(recorded_event)
    responses: dict[bytes, tuple[Idempotency, StoredResponse]] = {}
    for index, pending in enumerate(batch):
        if results[index] is None and index not in repeats:
            results[index] = Outcome(mine.get(index, []))
            if pending.idempotency is not None and index in mine:
                key = pending.idempotency
                responses[key.key_sha256] = (key, key.respond(mine[index]))
    await keep_responses(connection, list(responses.values()))
    for index, first in repeats.items():
        key_sha256 = batch[first].idempotency.key_sha256  # type: ignore[union-attr]
        stored = responses.get(key_sha256)
        results[index] = Outcome([], stored[1]) if stored else results[first]
    return [result for result in results if result is not None]


async def append(
    connection: Connection,
    threads: dict[str, decisions.LoadedThread],
    versions: dict[str, int],
    new_events: list[NewEvent],
) -> list[RecordedEvent]:
    if not new_events:
        return []
    last = {stream_id: thread.last_transaction_id for stream_id, thread in threads.items()}
    recorded = await store.append(connection, new_events, last)
    changed: list[tuple[str, Event]] = [(new.stream_id, new.event) for new in new_events]
    await decisions.save(connection, threads, versions, changed)
    await apply_all(connection, recorded)
    return recorded
