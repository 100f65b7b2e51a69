"""Idempotency-Key: a retried POST gets the first response and appends nothing new.

A key keeps the ids of the events its first request appended; a retry reads them back from the
log, and the handler shapes its response from them exactly as it did the first time.
"""

import hashlib
import uuid
from dataclasses import dataclass

from service.db import Connection
from service.domain.errors import DomainError


class IdempotencyKeyReused(DomainError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A POST's Idempotency-Key, scoped by the caller, and a digest of what it asked."""

    key_sha256: bytes
    request_sha256: bytes

    @classmethod
    def of(cls, scope: str, key: str, request: bytes) -> "Idempotency":
        return cls(
            hashlib.sha256(f"{scope}\n{key}".encode()).digest(), hashlib.sha256(request).digest()
        )

    def check(self, request_sha256: bytes) -> None:
        if request_sha256 != self.request_sha256:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")


@dataclass(frozen=True, slots=True)
class Kept:
    request_sha256: bytes
    event_ids: list[uuid.UUID]


async def keep(connection: Connection, kept: list[tuple[Idempotency, list[uuid.UUID]]]) -> None:
    if not kept:
        return
    await connection.executemany(
        """INSERT INTO idempotency_keys (key_sha256, request_sha256, event_ids)
           VALUES ($1, $2, $3)""",
        [(key.key_sha256, key.request_sha256, event_ids) for key, event_ids in kept],
    )
