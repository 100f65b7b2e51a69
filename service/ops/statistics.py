"""Planner statistics for the service's tables (the log's, the read models'), kept as they grow.

PostgreSQL plans a prepared statement for its arguments five times, then may keep one generic
plan, made with the statistics of that moment, until an ANALYZE (or DDL) of a table it reads
invalidates it. A plan made while a table was small scans it, or reads it through an index
that is only right for a few rows, and keeps doing so as the table grows. Autovacuum analyzes
a table once a tenth of it changed, but only when it comes by: in a new database filled fast
(a launch, an import) the plans of its first rows stayed for a minute or more (a reply's
parent lookup read every comment of its site through the threads' index: 4.8 ms a batch at
25,000 comments, against 0.07 once analyzed). Here, a table is analyzed as soon as it has
doubled since its last statistics: a cached plan serves at most twice the rows it was made
for, and a table of N rows is analyzed about log2(N) times in its life.
"""

import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from service.db import Outage, Pool, repeating
from service.eventstore.streams import lock_key
from service.keys import POOL, SETTINGS

log = logging.getLogger("threadlog.statistics")

LOCK = lock_key("upkeep:statistics")
# Below this many changed rows a table is not worth an ANALYZE: any plan reads it in
# microseconds.
MIN_CHANGED_ROWS = 1000

# `reltuples` is what the last ANALYZE or VACUUM counted, -1 before the first.
GROWN = """
SELECT s.relname::text AS name, format('%I.%I', s.schemaname, s.relname) AS qualified
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= greatest($1, c.reltuples)
ORDER BY s.relname
"""


async def analyze_grown(pool: Pool) -> list[str]:
    """ANALYZE every table of the service's schema that doubled since its statistics (or has
    none yet and holds MIN_CHANGED_ROWS); returns their names. One process of a cluster does
    it at a time: another finds the lock taken and leaves it. Each table on its own, and none
    that another holds (a VACUUM, a rebuild's swap): ANALYZE would wait for it, then hold up
    whatever came next."""
    async with pool.acquire() as connection:
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
            return []
        try:
            grown = await connection.fetch(GROWN, MIN_CHANGED_ROWS)
            for table in grown:
                # Gone since it was listed (a rebuild's swap replaces every model's tables).
                with contextlib.suppress(asyncpg.UndefinedTableError):
                    await connection.execute(f"ANALYZE (SKIP_LOCKED) {table['qualified']}")
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", LOCK)
    return [table["name"] for table in grown]


@contextlib.asynccontextmanager
async def kept(pool: Pool, seconds: float) -> AsyncIterator[None]:
    """Tables that double are analyzed while this runs (every `seconds`; 0: never): the
    service while it serves, an import while it writes."""

    async def analyze() -> None:
        analyzed = await analyze_grown(pool)
        if analyzed:
            log.info("analyzed %s: they doubled since their statistics", analyzed)

    async with repeating(seconds, analyze, Outage(log, "keeping statistics")):
        yield


async def keep_statistics(app: web.Application) -> AsyncIterator[None]:
    async with kept(app[POOL], app[SETTINGS].analyze_seconds):
        yield
