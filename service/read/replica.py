"""Reading from a streaming replica (THREADLOG_READ_DATABASE_URL) without losing one's own
writes.

A write's answer carries the primary's WAL position after its commit (`Threadlog-Position`,
from pg_current_wal_lsn()). A reader who passes it back is served by the replica once the
replica has replayed that far (`pg_last_wal_replay_lsn()`), waiting at most
THREADLOG_REPLICA_WAIT_SECONDS for it, else by the primary. Readers who pass nothing read the
replica as it is: a little behind, as any cache.
"""

import asyncio
import re
import time

from service.db import DatabaseUnavailable, Pool, unavailable

# A pg_lsn as PostgreSQL prints it: two hexadecimal halves.
POSITION = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
CHECK_SECONDS = 0.01
REPLAYED = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
CURRENT = "SELECT pg_current_wal_lsn()::text"


def valid_position(text: str) -> bool:
    return POSITION.fullmatch(text) is not None


class Reads:
    """Which pool a read goes to."""

    def __init__(self, primary: Pool, replica: Pool | None, wait_seconds: float) -> None:
        self.primary = primary
        self.replica = replica
        self.wait_seconds = wait_seconds

    async def position(self) -> str | None:
        """The primary's WAL position now (after a write committed); None without a replica."""
        if self.replica is None:
            return None
        found: str = await self.primary.fetchval(CURRENT)
        return found

    async def pool(self, position: str | None) -> Pool:
        """The replica, unless `position` (a valid pg_lsn) is not replayed there in time, or
        the replica is out of reach: then the primary."""
        if self.replica is None:
            return self.primary
        if position is None:
            return self.replica
        deadline = time.monotonic() + self.wait_seconds
        try:
            while not await self.replica.fetchval(REPLAYED, position):
                if time.monotonic() >= deadline:
                    return self.primary
                await asyncio.sleep(CHECK_SECONDS)
        except (DatabaseUnavailable, OSError) as error:
            if isinstance(error, DatabaseUnavailable) or unavailable(error):
                return self.primary
            raise
        return self.replica
