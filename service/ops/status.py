"""`threadlog status`: the state of one deployment at a glance, for an operator or a script.

Nothing here scans a big table: the events are counted by the position sequence (exact for
the last position; the count is PostgreSQL's planner estimate) and posts exactly only while
the estimate is small; a webhook's backlog is counted up to BACKLOG_CAP events.
"""

from typing import Any

from service.db import Connection
from service.eventstore.cursors import Cursor
from service.ops import migrate
from service.ops.feed_watch import feed_lag
from service.ops.rebuild import SCHEMA as REBUILD_SCHEMA

# Past this estimate, posts are not counted exactly.
EXACT_BELOW = 1_000_000
# A webhook further behind than this says "at least".
BACKLOG_CAP = 10_000

# reltuples is -1 for a table never analysed or vacuumed (then the estimate is unknown).
ESTIMATE = "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass($1)"

BACKLOG = """
SELECT count(*) FROM (
    SELECT 1 FROM events
    WHERE (epoch, transaction_id, position) > ($1, $2::text::xid8, $3)
      AND site = $4 AND (cardinality($5::text[]) = 0 OR type = ANY($5::text[]))
    LIMIT $6
) AS behind
"""

WEBHOOKS = """
SELECT webhook_id, site, url, types, status, epoch,
       transaction_id::text::bigint AS transaction_id, position, attempts, last_error,
       next_attempt_at
FROM webhooks ORDER BY site, created_at, webhook_id
"""


async def count_events(connection: Connection) -> dict[str, Any]:
    last = await connection.fetchval("SELECT max(position) FROM events")
    estimate = await connection.fetchval(ESTIMATE, "events")
    return {
        "last_position": last or 0,
        "estimated": estimate,
        "how": "last_position is exact (positions come from a sequence, so rolled-back "
        "appends leave gaps); estimated is PostgreSQL's planner estimate (pg_class.reltuples)",
    }


async def count_posts(connection: Connection) -> dict[str, Any]:
    estimate = await connection.fetchval(ESTIMATE, "posts")
    if estimate is not None and estimate >= EXACT_BELOW:
        return {"count": estimate, "exact": False}
    exact = await connection.fetchval("SELECT count(*) FROM posts WHERE NOT deleted")
    return {"count": exact, "exact": True}


async def webhook_states(connection: Connection) -> list[dict[str, Any]]:
    states = []
    for row in await connection.fetch(WEBHOOKS):
        behind = await connection.fetchval(
            BACKLOG,
            row["epoch"],
            str(row["transaction_id"]),
            row["position"],
            row["site"],
            list(row["types"]),
            BACKLOG_CAP + 1,
        )
        next_attempt = row["next_attempt_at"]
        states.append(
            {
                "id": str(row["webhook_id"]),
                "site": row["site"],
                "url": row["url"],
                "status": row["status"],
                "backlog": min(behind, BACKLOG_CAP),
                "backlog_at_least": behind > BACKLOG_CAP,
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "next_attempt_at": next_attempt.isoformat() if next_attempt else None,
            }
        )
    return states


async def relay_checkpoints(connection: Connection) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        """SELECT name, epoch, transaction_id::text AS transaction_id, position, updated_at
           FROM projection_checkpoints WHERE name LIKE 'relay:%' ORDER BY name"""
    )
    return [
        {
            "name": row["name"],
            "cursor": str(Cursor(row["epoch"], int(row["transaction_id"]), row["position"])),
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows
    ]


async def pending_rebuilds(connection: Connection) -> list[dict[str, Any]]:
    """A `rebuild` schema exists while `threadlog rebuild` runs (and after one was killed:
    running it again starts over)."""
    exists = await connection.fetchval(
        "SELECT true FROM pg_namespace WHERE nspname = $1", REBUILD_SCHEMA
    )
    if not exists:
        return []
    tables = await connection.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = $1", REBUILD_SCHEMA
    )
    return [{"schema": REBUILD_SCHEMA, "tables": tables}]


async def status(connection: Connection) -> dict[str, Any]:
    """Everything `threadlog status` says, as JSON-ready values."""
    revision, head = await migrate.current_revision(connection), migrate.head_revision()
    report: dict[str, Any] = {
        "database": "reachable",
        "schema": {"revision": revision, "head": head, "at_head": revision == head},
    }
    if revision != head:
        return report  # the tables below may not exist yet
    report["events"] = await count_events(connection)
    report["posts"] = await count_posts(connection)
    report["feed"] = (await feed_lag(connection)).view()
    report["webhooks"] = await webhook_states(connection)
    report["relays"] = await relay_checkpoints(connection)
    report["rebuilds"] = await pending_rebuilds(connection)
    report["privacy"] = await privacy(connection)
    return report


PRIVACY = """
SELECT (SELECT array_agg(kek_id ORDER BY kek_id) FROM kek_checks) AS keks,
       (SELECT count(*) FROM data_keys WHERE site = '' AND destroyed_at IS NULL) AS ip_days,
       (SELECT min(key_id) FROM data_keys WHERE site = '' AND destroyed_at IS NULL) AS oldest,
       (SELECT count(*) FROM erasures) AS erasures,
       (SELECT coalesce(sum(comments), 0) FROM erasures) AS erased_comments
"""


async def privacy(connection: Connection) -> dict[str, Any]:
    """What is kept: the KEKs data keys are wrapped with, the days of IP digests still readable,
    and how many erasures were done."""
    row = await connection.fetchrow(PRIVACY)
    assert row is not None
    return {
        "keks": list(row["keks"] or []),
        "ip_days_kept": row["ip_days"],
        "oldest_ip_day": row["oldest"].removeprefix("day:") if row["oldest"] else None,
        "erasures": row["erasures"],
        "erased_comments": row["erased_comments"],
    }
