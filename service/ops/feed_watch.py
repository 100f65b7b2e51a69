"""How far the feed is held back, and by what.

The feed shows an event only once every transaction older than it has ended, anywhere on the
PostgreSQL cluster (see eventstore/store.py): a session left idle in a transaction, a long
report, a forgotten prepared transaction holds back every subscriber, the webhooks and the relay
for as long as it lasts. /readyz reports it, and the log says so after
THREADLOG_FEED_STALL_WARN_SECONDS.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from service.db import Connection, DatabaseUnavailable, Pool
from service.keys import POOL, SETTINGS

log = logging.getLogger("threadlog.feed")

# The oldest transaction holding a transaction id (pg_snapshot_xmin is the oldest of them),
# prepared ones included; and the oldest committed event the feed cannot show because of it.
# Without pg_read_all_stats, another role's session shows no state or start time.
LAG = """
WITH holders AS (
    SELECT pid, application_name, usename::text AS user_name, datname::text AS database_name,
           state, extract(epoch FROM now() - xact_start)::float8 AS age_seconds,
           NULL::text AS prepared, age(backend_xid) AS xid_age
    FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
    UNION ALL
    SELECT NULL, NULL, owner::text, database::text, 'prepared',
           extract(epoch FROM now() - prepared)::float8, gid, age(transaction)
    FROM pg_prepared_xacts
),
oldest AS (SELECT * FROM holders ORDER BY xid_age DESC LIMIT 1),
first_waiting AS (
    SELECT recorded_at FROM events
    WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY transaction_id, position
    LIMIT 1
)
SELECT greatest(0, extract(epoch FROM now() - (SELECT recorded_at FROM first_waiting)))::float8
           AS held_back_seconds,
       oldest.*
FROM (SELECT) AS one LEFT JOIN oldest ON true
"""


@dataclass(frozen=True, slots=True)
class Transaction:
    pid: int | None
    application_name: str | None
    user: str | None
    database: str | None
    state: str | None
    age_seconds: float | None
    # The gid of a prepared (two-phase) transaction, which has no session.
    prepared: str | None

    def describe(self) -> str:
        if self.prepared is not None:
            who = f"the prepared transaction {self.prepared!r}"
        else:
            who = f"pid {self.pid} (application_name {self.application_name!r})"
        age = f"open {self.age_seconds:.0f} s" if self.age_seconds is not None else "open"
        state = f", {self.state}" if self.state and self.prepared is None else ""
        return f"{who}, user {self.user!r}, database {self.database!r}{state}, {age}"


@dataclass(frozen=True, slots=True)
class FeedLag:
    # How long the oldest committed event the feed cannot show yet has waited; 0: none waits.
    held_back_seconds: float
    # The oldest transaction on the cluster: the one the feed waits for.
    oldest_transaction: Transaction | None

    def view(self) -> dict[str, Any]:
        return {
            "held_back_seconds": round(self.held_back_seconds, 3),
            "oldest_transaction": asdict(self.oldest_transaction)
            if self.oldest_transaction
            else None,
        }


async def feed_lag(connection: Connection | Pool) -> FeedLag:
    row = await connection.fetchrow(LAG)
    assert row is not None
    oldest = None
    if row["xid_age"] is not None:
        oldest = Transaction(
            pid=row["pid"],
            application_name=row["application_name"],
            user=row["user_name"],
            database=row["database_name"],
            state=row["state"],
            age_seconds=row["age_seconds"],
            prepared=row["prepared"],
        )
    return FeedLag(row["held_back_seconds"] or 0.0, oldest)


class Watch:
    """Says when the feed has been held back past `warn_seconds`, again every `warn_seconds`
    while it lasts, and once when it moves again."""

    def __init__(self, warn_seconds: float) -> None:
        self.warn_seconds = warn_seconds
        self.warned_at: float | None = None  # how far held back at the last warning

    def check(self, lag: FeedLag) -> None:
        held = lag.held_back_seconds
        if held < self.warn_seconds:
            if self.warned_at is not None:
                log.warning("the feed moves again")
                self.warned_at = None
            return
        if self.warned_at is not None and held < self.warned_at + self.warn_seconds:
            return
        self.warned_at = held
        holder = lag.oldest_transaction.describe() if lag.oldest_transaction else "a transaction"
        log.warning(
            "the feed is held back %.0f s by the oldest transaction on the cluster: %s; "
            "subscribers, webhooks and the relay get no newer event until it ends",
            held,
            holder,
        )


async def watch_feed(app: web.Application) -> AsyncIterator[None]:
    warn_seconds = app[SETTINGS].feed_stall_warn_seconds
    watch = Watch(warn_seconds)

    async def loop() -> None:
        while True:
            await asyncio.sleep(min(10.0, warn_seconds / 3))
            with contextlib.suppress(DatabaseUnavailable):  # said by whoever needs it
                watch.check(await feed_lag(app[POOL]))

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
