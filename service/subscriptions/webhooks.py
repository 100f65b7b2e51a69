"""Webhook subscriptions: what is registered, how requests are signed, what was attempted.

Signing follows Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of
"<webhook-id>.<webhook-timestamp>.<body>">` under the secret that `whsec_<base64>` names. The
secret is never stored: it is derived from the server secret and a per-webhook salt, so a copy
of the database alone signs nothing (when the server secret is configured outside it).
"""

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from service.db import Connection, Pool
from service.eventstore.cursors import Cursor
from service.eventstore.streams import lock_key


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    # Retried for the whole retry period without a 2xx; resumed by PATCH {"status": "active"}.
    FAILING = "failing"
    # The receiver answered 410 Gone.
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: uuid.UUID
    site: str
    url: str
    types: tuple[str, ...]
    description: str
    status: WebhookStatus
    secret_salt: bytes
    # The salt before the last rotation, while its overlap lasts; else None.
    previous_secret_salt: bytes | None
    previous_secret_until: datetime | None
    cursor: Cursor
    attempts: int
    failing_since: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    seconds_to_next_attempt: float

    @classmethod
    def from_row(cls, row: Any) -> "Webhook":
        return cls(
            webhook_id=row["webhook_id"],
            site=row["site"],
            url=row["url"],
            types=tuple(row["types"]),
            description=row["description"],
            status=WebhookStatus(row["status"]),
            secret_salt=row["secret_salt"],
            previous_secret_salt=row["previous_secret_salt"],
            previous_secret_until=row["previous_secret_until"],
            cursor=Cursor(row["epoch"], row["transaction_id"], row["position"]),
            attempts=row["attempts"],
            failing_since=row["failing_since"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            seconds_to_next_attempt=row["seconds_to_next_attempt"],
        )


def signing_secret(server_secret: bytes, webhook_id: uuid.UUID, salt: bytes) -> bytes:
    message = b"webhook-secret\n" + webhook_id.bytes + salt
    return hmac.new(server_secret, message, hashlib.sha256).digest()


def signing_secrets(server_secret: bytes, hook: Webhook) -> tuple[bytes, ...]:
    """The secrets a delivery is signed with: the current one, and during the overlap after a
    rotation the previous one too."""
    salts = (hook.secret_salt, hook.previous_secret_salt)
    return tuple(signing_secret(server_secret, hook.webhook_id, salt) for salt in salts if salt)


def secret_text(secret: bytes) -> str:
    return "whsec_" + base64.b64encode(secret).decode()


def signature(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets: tuple[bytes, ...], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one signature per secret, separated by spaces."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets)


COLUMNS = """webhook_id, site, url, types, description, status, secret_salt,
    CASE WHEN previous_secret_until > now() THEN previous_secret_salt END AS previous_secret_salt,
    CASE WHEN previous_secret_until > now() THEN previous_secret_until END
        AS previous_secret_until,
    epoch, transaction_id::text::bigint AS transaction_id, position, attempts, failing_since,
    next_attempt_at, last_error, created_at, updated_at,
    coalesce(extract(epoch FROM greatest(next_attempt_at - now(), '0s')), 0)::float8
        AS seconds_to_next_attempt"""


# Registrations of one site queue on this lock, so that counting and inserting are one step.
LOCK_SITE = "SELECT pg_advisory_xact_lock($1)"
CREATE = f"""
INSERT INTO webhooks (webhook_id, site, url, types, description, secret_salt,
                      transaction_id, position, epoch)
SELECT $1, $2, $3, $4, $5, $6, $7::text::xid8, $8, $9
WHERE (SELECT count(*) FROM webhooks WHERE site = $2) < $10
RETURNING {COLUMNS}"""


async def create(
    pool: Pool,
    site: str,
    url: str,
    types: list[str],
    description: str,
    after: Cursor,
    max_per_site: int,
) -> Webhook | None:
    """The new webhook, or None when the site already has `max_per_site` of them."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(LOCK_SITE, lock_key(f"webhooks:{site}"))
        row = await connection.fetchrow(
            CREATE,
            uuid.uuid4(),
            site,
            url,
            types,
            description,
            secrets.token_bytes(16),
            str(after.transaction_id),
            after.position,
            after.epoch,
            max_per_site,
        )
    return Webhook.from_row(row) if row else None


async def find(connection: Connection | Pool, site: str, webhook_id: uuid.UUID) -> Webhook | None:
    row = await connection.fetchrow(
        f"SELECT {COLUMNS} FROM webhooks WHERE site = $1 AND webhook_id = $2", site, webhook_id
    )
    return Webhook.from_row(row) if row else None


async def load(connection: Connection | Pool, webhook_id: uuid.UUID) -> Webhook | None:
    row = await connection.fetchrow(
        f"SELECT {COLUMNS} FROM webhooks WHERE webhook_id = $1", webhook_id
    )
    return Webhook.from_row(row) if row else None


async def listing(connection: Connection | Pool, site: str) -> list[Webhook]:
    rows = await connection.fetch(
        f"SELECT {COLUMNS} FROM webhooks WHERE site = $1 ORDER BY created_at, webhook_id", site
    )
    return [Webhook.from_row(row) for row in rows]


async def change(
    connection: Connection | Pool,
    site: str,
    webhook_id: uuid.UUID,
    url: str | None,
    types: list[str] | None,
    description: str | None,
    status: WebhookStatus | None,
) -> Webhook | None:
    """Apply what is given; making a webhook active again retries its next event at once."""
    row = await connection.fetchrow(
        f"""UPDATE webhooks SET
                url = coalesce($3, url),
                types = coalesce($4, types),
                description = coalesce($5, description),
                status = coalesce($6, status),
                attempts = CASE WHEN $6 = 'active' AND status <> 'active' THEN 0 ELSE attempts END,
                failing_since = CASE WHEN $6 = 'active' THEN NULL ELSE failing_since END,
                next_attempt_at = CASE WHEN $6 = 'active' THEN NULL ELSE next_attempt_at END,
                updated_at = now()
            WHERE site = $1 AND webhook_id = $2
            RETURNING {COLUMNS}""",
        site,
        webhook_id,
        url,
        types,
        description,
        status.value if status is not None else None,
    )
    return Webhook.from_row(row) if row else None


async def replay(
    connection: Connection | Pool, site: str, webhook_id: uuid.UUID, after: Cursor
) -> Webhook | None:
    """Deliver again everything after `after`, starting at once."""
    row = await connection.fetchrow(
        f"""UPDATE webhooks SET transaction_id = $3::text::xid8, position = $4, epoch = $5,
                attempts = 0, failing_since = NULL, next_attempt_at = NULL, updated_at = now()
            WHERE site = $1 AND webhook_id = $2
            RETURNING {COLUMNS}""",
        site,
        webhook_id,
        str(after.transaction_id),
        after.position,
        after.epoch,
    )
    return Webhook.from_row(row) if row else None


async def rotate_secret(
    connection: Connection | Pool, site: str, webhook_id: uuid.UUID, overlap_hours: float
) -> Webhook | None:
    """A new secret; the one it replaces keeps signing too for `overlap_hours` (0: not at all).

    Rotating again within an overlap keeps only the secret just replaced: the one before it
    is forgotten at once.
    """
    row = await connection.fetchrow(
        f"""UPDATE webhooks SET
                previous_secret_salt = CASE WHEN $4 > 0 THEN secret_salt END,
                previous_secret_until = CASE WHEN $4 > 0
                    THEN now() + make_interval(secs => $4 * 3600) END,
                secret_salt = $3,
                updated_at = now()
            WHERE site = $1 AND webhook_id = $2 RETURNING {COLUMNS}""",
        site,
        webhook_id,
        secrets.token_bytes(16),
        float(overlap_hours),
    )
    return Webhook.from_row(row) if row else None


async def forget_previous_secrets(connection: Connection | Pool) -> int:
    """Erase the salts of previous secrets whose overlap is over."""
    status = await connection.execute(
        """UPDATE webhooks SET previous_secret_salt = NULL, previous_secret_until = NULL
           WHERE previous_secret_until <= now()"""
    )
    return int(status.split()[-1])


async def remove(connection: Connection | Pool, site: str, webhook_id: uuid.UUID) -> bool:
    status = await connection.execute(
        "DELETE FROM webhooks WHERE site = $1 AND webhook_id = $2", site, webhook_id
    )
    return status != "DELETE 0"


async def deliveries(
    connection: Connection | Pool, webhook_id: uuid.UUID, before: int | None, limit: int
) -> list[Any]:
    """The most recent attempts first."""
    return await connection.fetch(
        """SELECT delivery_id, event_id, event_type, cursor, attempt, status_code, succeeded,
                  latency_ms, error, attempted_at
           FROM webhook_deliveries
           WHERE webhook_id = $1 AND ($2::bigint IS NULL OR delivery_id < $2)
           ORDER BY delivery_id DESC LIMIT $3""",
        webhook_id,
        before,
        limit,
    )


async def forget_deliveries(connection: Connection | Pool, days: int) -> int:
    status = await connection.execute(
        "DELETE FROM webhook_deliveries WHERE attempted_at < now() - make_interval(days => $1)",
        days,
    )
    return int(status.split()[-1])
