"""How recent comments and a group's reads scale with the table: fill a fresh database with
N comments over 20 sites (a tenth held), then time each read (median of 50 runs) and count the
rows its plan touched. Run with `python -P bench/recent_reads.py --comments 1000000`."""

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.ops import migrate
from service.read import groups, recent
from tests.integration.test_recent_plans import SITES, fill_sql, nodes


async def measure(url: str, comments: int) -> dict[str, object]:
    connection = await asyncpg.connect(url)
    try:
        for statement in fill_sql(comments).split(";\n"):
            if statement.strip():
                await connection.execute(statement)
        await connection.execute("ANALYZE")
        sites = [f"s{n}" for n in range(SITES)]
        reads = {
            "site recent (limit 10)": (recent.SITES, (["s3"], 10)),
            "group recent, 20 sites (limit 10)": (recent.SITES, (sites, 10)),
            "post feed (50)": (recent.POST, ("s3", "p3", 50)),
            "group label posts (limit 20)": (groups.LABEL_POSTS, ("all", "l7", 20)),
            "group labels": (groups.LABELS, ("all",)),
        }
        results: dict[str, object] = {"comments": comments}
        for name, (sql, arguments) in reads.items():
            times = []
            for _ in range(50):
                started = time.perf_counter()
                await connection.fetch(sql, *arguments)
                times.append((time.perf_counter() - started) * 1000)
            plan = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *arguments)
            touched = sum(
                int(node["Actual Rows"] * node["Actual Loops"])
                for node in nodes(json.loads(plan)[0]["Plan"])
                if "Scan" in node["Node Type"]
            )
            results[name] = {"median_ms": round(statistics.median(times), 3), "rows": touched}
        return results
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    name = f"threadlog_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(arguments.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = arguments.database_url.rsplit("/", 1)[0] + f"/{name}"
        await asyncio.to_thread(migrate.upgrade, url)
        print(json.dumps(await measure(url, arguments.comments), indent=2))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
