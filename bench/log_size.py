"""Append and read latency with a big log: one client at a time (latency, not throughput),
on an empty site, then on a site whose log holds --events comments (seeded by COPY through
bench/seed_log.py, read models made by `threadlog rebuild`). For docs/scaling.md.

.venv/bin/python bench/log_size.py --events 1000000 [--posts 2000] [--duration 10]
.venv/bin/python bench/log_size.py --events 10000000 --seed sql

`--seed codec` (the default) seals every event through the real codec (bench/seed_log.py);
`--seed sql` writes them inside PostgreSQL in the log's pre-sealing shape (bench/seed_sql.py),
fast enough for 10 M events.

Each measures: a comment POST (30% replies), a 50-comment thread page, counts for 50 posts,
and a 100-event feed page after a cursor in the middle of the log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from db import check_loopback, create_database, drop_database, with_database
from loadgen import Op, run_closed_loop
from procs import run_command
from scale import SEEDER, _write_op

from service import SITE, Service, publish

RESULTS = Path(__file__).resolve().parent / "results"
SQL_SEEDER = Path(__file__).resolve().parent / "seed_sql.py"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="comments to seed")
    parser.add_argument("--posts", type=int, default=2000, help="posts they spread over")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--seed", choices=["codec", "sql"], default="codec", help="how to seed")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


def get_op(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> Op:
    async def op() -> str | None:
        async with session.get(url, headers=headers) as response:
            await response.read()
            return None if response.status == 200 else f"http {response.status}"

    return op


async def measure(
    session: aiohttp.ClientSession, svc: Service, moderator: str, thread: dict[str, list[str]],
    duration: float,
) -> dict[str, Any]:  # fmt: skip
    posts = sorted(thread)
    auth = {"Authorization": f"Bearer {moderator}"}
    async with session.get(f"{svc.base}/v1/events?limit=1000", headers=auth) as response:
        page = await response.json()
    middle = page["events"][len(page["events"]) // 2]["cursor"] if page["events"] else "0-0"
    counts = "&".join(f"post={post}" for post in random.sample(posts, min(50, len(posts))))
    operations: dict[str, Op] = {
        "append": _write_op(session, svc, thread),
        "thread": get_op(session, f"{svc.comments_url(random.choice(posts))}?limit=50"),
        "counts": get_op(session, f"{svc.base}/v1/sites/{SITE}/counts?{counts}"),
        "feed": get_op(session, f"{svc.base}/v1/events?limit=100&after={middle}", auth),
    }
    found = {}
    for name, op in operations.items():
        result = await run_closed_loop(name, op, duration=duration, concurrency=1, warmup=1.0)
        found[name] = result.summary()
        print(name, found[name], flush=True)
    return found


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    check_loopback(args.database_url)
    name = await create_database(args.database_url)
    url = with_database(args.database_url, name)
    results: dict[str, Any] = {"events": args.events, "posts": args.posts, "seed": args.seed}
    svc = Service(url, RESULTS, name="log-size")
    try:
        async with aiohttp.ClientSession() as session:
            await svc.start()
            keys = await svc.provision()
            empty = [f"e{i:04d}" for i in range(50)]
            await asyncio.gather(*(publish(session, svc, keys.publisher, p) for p in empty))
            results["empty"] = await measure(
                session, svc, keys.moderator, {post: [] for post in empty}, args.duration
            )
            await svc.stop()
            out = RESULTS / "log_size_seed.json"
            started = time.monotonic()
            script = SEEDER if args.seed == "codec" else SQL_SEEDER
            seeder = [sys.executable, "-P", str(script), url, SITE, str(args.posts),
                      str(args.events), "0.3", str(out)]  # fmt: skip
            await run_command(seeder, svc.env, limit_s=7200)
            results["seed_seconds"] = round(time.monotonic() - started, 1)
            started = time.monotonic()
            await svc.cli("rebuild", limit_s=10800)
            results["rebuild_seconds"] = round(time.monotonic() - started, 1)
            print(results, flush=True)
            seeded: dict[str, list[str]] = json.loads(out.read_text())
            svc = Service(url, RESULTS, name="log-size-big")
            await svc.start()
            results["big"] = await measure(session, svc, keys.moderator, seeded, args.duration)
    finally:
        await svc.stop()
        await drop_database(args.database_url, name)
    return results


def main() -> int:
    args = parse_args()
    result = asyncio.run(bench(args))
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "log_size.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
