"""IP digests are kept THREADLOG_IP_RETENTION_DAYS: each day's are sealed under that day's key
(see eventstore/vault.py), and once per cluster this destroys the keys of older days and forgets
those digests in the write side's rows, as a replay of the log would (a comment's `ip_hash`; a
report's digest, which only stops a client reporting twice)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from service.db import Pool
from service.eventstore import data_keys
from service.eventstore.streams import lock_key

LOCK = lock_key("upkeep:ip-retention")

EXPIRED = """
SELECT key_id FROM data_keys
WHERE site = '' AND destroyed_at IS NULL AND key_id < $1
ORDER BY key_id
"""

# One site at a time, by its primary-key range: no long transaction holds the feed back.
FORGET_IPS = """
UPDATE stream_comments SET ip_hash = NULL
WHERE site = $1 AND ip_day < $2 AND ip_hash IS NOT NULL
"""

# Reports older than the keys keep their count, not their digests (undated ones, written before
# retention, stay as a replay keeps them).
FORGET_REPORTERS = """
UPDATE stream_comments s
SET reporters = kept.reporters, reporter_days = kept.days
FROM stream_comments c
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(u.reporter ORDER BY u.n)
                    FILTER (WHERE u.day IS NULL OR u.day >= $2), '{}') AS reporters,
           coalesce(array_agg(u.day ORDER BY u.n) FILTER (WHERE u.day >= $2), '{}') AS days
    FROM unnest(c.reporters, c.reporter_days) WITH ORDINALITY AS u(reporter, day, n)
) AS kept
WHERE c.site = $1 AND s.site = c.site AND s.comment_id = c.comment_id
  AND EXISTS (SELECT 1 FROM unnest(c.reporter_days) AS d WHERE d < $2)
"""


@dataclass(frozen=True, slots=True)
class Forgotten:
    days: list[str]
    ran: bool


def cutoff(days: int, today: date | None = None) -> str:
    """The oldest day key kept: those before it are destroyed."""
    return data_keys.day_key_id((today or datetime.now(UTC).date()) - timedelta(days=days))


async def forget_old_ip_digests(
    pool: Pool, days: int, today: date | None = None, sweep: bool = False
) -> Forgotten:
    """Destroy the day keys older than `days` days and forget their digests; once per cluster
    at a time (another instance doing it now: nothing here). `sweep` forgets the digests even
    when no key expired now (after a start: an earlier run may have stopped half-way)."""
    oldest_kept = cutoff(days, today)
    async with pool.acquire() as connection:
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
            return Forgotten([], ran=False)
        try:
            expired = [row["key_id"] for row in await connection.fetch(EXPIRED, oldest_kept)]
            if expired:
                await data_keys.destroy(connection, expired, datetime.now(UTC))
            if expired or sweep:
                sites = [row["site"] for row in await connection.fetch("SELECT site FROM sites")]
                for site in sites:
                    await connection.execute(FORGET_IPS, site, oldest_kept)
                    await connection.execute(FORGET_REPORTERS, site, oldest_kept)
            return Forgotten(expired, ran=True)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", LOCK)
