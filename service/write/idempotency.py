"""Idempotency-Key: a retried POST gets the first response and appends nothing new."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.db import Connection
from service.domain.errors import DomainError
from service.eventstore.store import RecordedEvent


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

    def check(self, request_sha256: bytes) -> None:
        if request_sha256 != self.request_sha256:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")


async def find_responses(
    connection: Connection, keys: list[bytes]
) -> dict[bytes, tuple[bytes, StoredResponse]]:
    """key digest -> (request digest, response) for the keys seen before."""
    if not keys:
        return {}
    rows = await connection.fetch(
        """SELECT key_sha256, request_sha256, status, body, location FROM idempotency_keys
           WHERE key_sha256 = ANY($1::bytea[])""",
        keys,
    )
    return {
        row["key_sha256"]: (
            row["request_sha256"],
            StoredResponse(row["status"], json.loads(row["body"]), row["location"]),
        )
        for row in rows
    }


async def keep_responses(
    connection: Connection, responses: list[tuple[Idempotency, StoredResponse]]
) -> None:
    if not responses:
        return
    await connection.executemany(
        """INSERT INTO idempotency_keys (key_sha256, request_sha256, status, body, location)
           VALUES ($1, $2, $3, $4, $5)""",
        [
            (key.key_sha256, key.request_sha256, response.status, json.dumps(response.body),
             response.location)
            for key, response in responses
        ],
    )  # fmt: skip
