"""Per-client rate limits in PostgreSQL, so every instance of the service counts together.

A fixed one-minute window per (site, scope, salted client hash), counted by one upsert. The
counter is not an event: it decides nothing that a replay would need.
"""

from dataclasses import dataclass

from service.db import Connection, Pool

HIT = """
INSERT INTO rate_limits (site, scope, client_hash, window_start, hits)
VALUES ($1, $2, $3, date_trunc('minute', now()), 1)
ON CONFLICT (site, scope, client_hash, window_start) DO UPDATE
    SET hits = rate_limits.hits + 1
RETURNING hits, 60 - floor(extract(epoch FROM now() - window_start))::int AS retry_after
"""

FORGET = "DELETE FROM rate_limits WHERE window_start < now() - interval '5 minutes'"


@dataclass(frozen=True, slots=True)
class Verdict:
    limited: bool
    retry_after_seconds: int


ALLOWED = Verdict(False, 0)


async def hit(
    connection: Connection | Pool, site: str, scope: str, client_hash: str, per_minute: int
) -> Verdict:
    """Count one request; `per_minute` 0 turns the limit off (and counts nothing)."""
    if per_minute <= 0:
        return ALLOWED
    row = await connection.fetchrow(HIT, site, scope, client_hash)
    assert row is not None
    return Verdict(row["hits"] > per_minute, max(1, row["retry_after"]))


async def forget_old_windows(connection: Connection | Pool) -> int:
    status = await connection.execute(FORGET)
    return int(status.split()[-1])
