"""What a dispatching process keeps of its webhooks: the connection that holds their locks and
writes each attempt's record, in the statement that also moves a webhook's checkpoint (after a
2xx only) or schedules its retry. See dispatcher.py.
"""

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service.eventstore.store import RecordedEvent
from service.eventstore.streams import lock_key
from service.settings import Settings
from service.subscriptions.webhooks import Webhook


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    error: str | None
    latency_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def outcome(self) -> str:
        return "delivered" if self.succeeded else "gone" if self.gone else "failed"


def retry_delay(failures: int, base: float, cap: float) -> float:
    """Exponential in the failures so far, with jitter that never brings a retry forward by
    more than half a step: many failing webhooks spread out without retrying too eagerly."""
    step: float = min(cap, base * 2.0 ** min(failures, 62))
    return step / 2 + random.uniform(0, step / 2)


RECORD = """
WITH attempt AS (
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, cursor, attempt,
                                    status_code, succeeded, latency_ms, error)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
)
UPDATE webhooks SET {changes}, updated_at = now()
WHERE webhook_id = $1 AND transaction_id = $10::text::xid8 AND position = $11
  AND updated_at = $12 AND status = 'active'
RETURNING updated_at
"""
SUCCEEDED = RECORD.format(
    changes="""transaction_id = $13::text::xid8, position = $14, epoch = $15, attempts = 0,
    failing_since = NULL, next_attempt_at = NULL, last_error = NULL"""
)
FAILED = RECORD.format(
    changes="""attempts = attempts + 1, failing_since = coalesce(failing_since, now()),
    next_attempt_at = now() + make_interval(secs => $13), last_error = $9,
    status = CASE WHEN $14 THEN 'disabled'
                  WHEN failing_since < now() - make_interval(secs => $15) THEN 'failing'
                  ELSE status END"""
)


class Owner:
    """The connection that holds this process's webhook locks and writes their records."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.busy = asyncio.Lock()

    async def active(self) -> set[uuid.UUID]:
        async with self.busy:
            rows = await self.connection.fetch(
                "SELECT webhook_id FROM webhooks WHERE status = 'active'"
            )
        return {row["webhook_id"] for row in rows}

    async def take(self, webhook_id: uuid.UUID) -> bool:
        async with self.busy:
            taken: bool = await self.connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", lock_key(f"webhook:{webhook_id}")
            )
        return taken

    async def release(self, webhook_id: uuid.UUID) -> None:
        async with self.busy:
            await self.connection.execute(
                "SELECT pg_advisory_unlock($1)", lock_key(f"webhook:{webhook_id}")
            )

    async def record(
        self, hook: Webhook, event: RecordedEvent, attempt: Attempt, settings: Settings
    ) -> datetime | None:
        """Record the attempt. Unless the webhook changed since `hook` was read (a pause, a
        replay, new types), also its outcome, and return the webhook's new `updated_at`."""
        shared = (
            hook.webhook_id,
            event.event_id,
            event.type,
            str(event.cursor),
            hook.attempts + 1,
            attempt.status_code,
            attempt.succeeded,
            attempt.latency_ms,
            attempt.error,
            str(hook.cursor.transaction_id),
            hook.cursor.position,
            hook.updated_at,
        )
        arguments: tuple[object, ...]
        if attempt.succeeded:
            cursor = event.cursor
            arguments = (str(cursor.transaction_id), cursor.position, cursor.epoch)
            query = SUCCEEDED
        else:
            base, cap = settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
            delay = retry_delay(hook.attempts, base, cap)
            query, arguments = FAILED, (delay, attempt.gone, settings.webhook_retry_hours * 3600)
        async with self.busy:
            updated: datetime | None = await self.connection.fetchval(query, *shared, *arguments)
        return updated
