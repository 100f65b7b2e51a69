"""How far each subscriber of the log is behind: events after its checkpoint, counted up to a
cap so that a subscriber far behind costs one bounded index scan, not a count of the log."""

from service.db import Connection, Pool
from service.subscriptions.nats_relay import checkpoint_name

# Past this, a backlog is reported as the cap: it is large either way.
COUNT_CAP = 100_000

WEBHOOK_BACKLOGS = """
SELECT w.webhook_id::text AS webhook_id, behind.events
FROM webhooks w
CROSS JOIN LATERAL (
    SELECT count(*) AS events FROM (
        SELECT 1 FROM events e
        WHERE e.site = w.site
          AND (e.epoch, e.transaction_id, e.position) > (w.epoch, w.transaction_id, w.position)
        LIMIT $1
    ) AS capped
) AS behind
WHERE w.status <> 'disabled'
"""

RELAY_BACKLOG = """
SELECT count(*) FROM (
    SELECT 1 FROM events e, projection_checkpoints c
    WHERE c.name = $1
      AND (e.epoch, e.transaction_id, e.position) > (c.epoch, c.transaction_id, c.position)
    LIMIT $2
) AS capped
"""


async def webhook_backlogs(connection: Connection | Pool) -> dict[str, int]:
    """Webhook id -> events of its site after its checkpoint, for webhooks not disabled."""
    rows = await connection.fetch(WEBHOOK_BACKLOGS, COUNT_CAP)
    return {row["webhook_id"]: row["events"] for row in rows}


async def relay_backlog(connection: Connection | Pool, stream: str) -> int | None:
    """Events after the NATS relay's checkpoint for `stream`; None before its first one."""
    name = checkpoint_name(stream)
    exists = await connection.fetchval(
        "SELECT true FROM projection_checkpoints WHERE name = $1", name
    )
    if not exists:
        return None
    return int(await connection.fetchval(RELAY_BACKLOG, name, COUNT_CAP))
