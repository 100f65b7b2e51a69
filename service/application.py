"""Executing a command: lock the post, decide, append, update the read models; one transaction.

Concurrent writers to one post queue on its row lock; the rare conflicts that get past it (two
first publishes of one post, a transaction id older than the last writer's) are retried with
fresh state, so a busy thread never answers 409 or 5xx.
"""

import asyncio
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from service import decisions
from service.db import Connection, Pool
from service.domain.commands import Command, DeleteComment, DeletePost, PostComment, PublishPost
from service.domain.errors import CommentNotFound, DomainError
from service.domain.thread import decide
from service.eventstore import store
from service.eventstore.store import RecordedEvent, StaleTransactionOrder
from service.projections import apply_all

MAX_ATTEMPTS = 20
RETRYABLE = (
    StaleTransactionOrder,
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


class IdempotencyKeyReused(DomainError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A POST's Idempotency-Key, scoped by the caller, and a digest of what it asked."""

    key_sha256: bytes
    request_sha256: bytes
    # Shapes the response to keep from the events this request appended.
    respond: Callable[[list[RecordedEvent]], StoredResponse]

    @classmethod
    def of(
        cls,
        scope: str,
        key: str,
        request: bytes,
        respond: Callable[[list[RecordedEvent]], StoredResponse],
    ) -> "Idempotency":
        return cls(
            hashlib.sha256(f"{scope}\n{key}".encode()).digest(),
            hashlib.sha256(request).digest(),
            respond,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[RecordedEvent]
    # Set when an Idempotency-Key was seen before: the first request's response.
    replayed: StoredResponse | None = None


class Application:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def execute(
        self, command: Command, metadata: dict[str, Any], idempotency: Idempotency | None = None
    ) -> Outcome:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self.attempt(command, metadata, idempotency)
            except RETRYABLE:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable")

    async def attempt(
        self, command: Command, metadata: dict[str, Any], idempotency: Idempotency | None
    ) -> Outcome:
        async with self.pool.acquire() as connection, connection.transaction():
            post_id = await post_id_of(connection, command)
            stream_id = store.stream_id_for(command.site, post_id)
            loaded = await decisions.load_for_update(connection, stream_id, command)
            if idempotency is not None:
                replayed = await find_response(connection, idempotency)
                if replayed is not None:
                    return Outcome([], replayed)
            events = decide(command, loaded.state)
            if not events:
                return Outcome([])
            recorded = await store.append(
                connection,
                stream_id=stream_id,
                site=command.site,
                expected_version=loaded.version,
                last_transaction_id=loaded.last_transaction_id,
                events=events,
                metadata=metadata,
            )
            await decisions.save(connection, loaded, command, events)
            await apply_all(connection, recorded)
            if idempotency is not None:
                await keep_response(connection, idempotency, idempotency.respond(recorded))
            return Outcome(recorded)


async def post_id_of(connection: Connection, command: Command) -> str:
    match command:
        case DeleteComment():
            post_id = await decisions.post_of_comment(connection, command.site, command.comment_id)
            if post_id is None:
                raise CommentNotFound(f"comment {command.comment_id!r} does not exist")
            return post_id
        case PublishPost() | DeletePost() | PostComment():
            return command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")


async def find_response(connection: Connection, idempotency: Idempotency) -> StoredResponse | None:
    row = await connection.fetchrow(
        "SELECT request_sha256, status, body, location FROM idempotency_keys WHERE key_sha256 = $1",
        idempotency.key_sha256,
    )
    if row is None:
        return None
    if row["request_sha256"] != idempotency.request_sha256:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return StoredResponse(row["status"], json.loads(row["body"]), row["location"])


async def keep_response(
    connection: Connection, idempotency: Idempotency, response: StoredResponse
) -> None:
    await connection.execute(
        """INSERT INTO idempotency_keys (key_sha256, request_sha256, status, body, location)
           VALUES ($1, $2, $3, $4, $5)""",
        idempotency.key_sha256,
        idempotency.request_sha256,
        response.status,
        json.dumps(response.body),
        response.location,
    )
