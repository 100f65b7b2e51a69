"""Idle live streams: what 2,000 open, idle streams cost the service and the database.

.venv/bin/python bench/idle_streams.py [--streams 2000] [--duration 30]

Starts the service as bench/run.py does, opens --streams streams (half readers' streams
spread over 100 posts, half key holders' streams of the site), lets them settle, and measures
over --duration seconds with nothing written: the service process's CPU time (user + system,
from /proc), the database's committed transactions a second (pg_stat_database, read after
PostgreSQL's own reporting delay on both ends), and the p50 of a thread read meanwhile.
Then it does the same with no stream open, for the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from db import check_loopback, create_database, drop_database, with_database
from procs import last_line

from service import SITE, Service, publish

RESULTS = Path(__file__).resolve().parent / "results"
POSTS = [f"idle{i:03d}" for i in range(100)]
# PostgreSQL's backends report their counts when idle at most every ten seconds or so.
STATISTICS_DELAY_SECONDS = 11.0
BATCH = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000, help="idle streams to hold")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--threadlog", help="threadlog executable (default: the venv's)")
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def transactions(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        count: int = await connection.fetchval(
            """SELECT xact_commit + xact_rollback FROM pg_stat_database
               WHERE datname = current_database()"""
        )
    finally:
        await connection.close()
    return count


async def hold(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], opened: asyncio.Event
) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    try:
        async with session.get(url, headers=headers, timeout=timeout) as response:
            response.raise_for_status()
            await response.content.readline()  # its first message: it has begun
            opened.set()
            async for _ in response.content:
                pass
    finally:
        opened.set()  # begun or failed: the next batch may go


async def measure(
    svc: Service, url: str, session: aiohttp.ClientSession, duration: float
) -> dict[str, Any]:
    assert svc.server.proc is not None
    pid = svc.server.proc.pid
    await asyncio.sleep(STATISTICS_DELAY_SECONDS)
    began, cpu, count = time.monotonic(), cpu_seconds(pid), await transactions(url)
    reads: list[float] = []
    while time.monotonic() - began < duration:
        start = time.monotonic()
        async with session.get(svc.comments_url(POSTS[len(reads) % len(POSTS)])) as response:
            await response.read()
        reads.append(time.monotonic() - start)
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - began
    cpu = cpu_seconds(pid) - cpu
    await asyncio.sleep(STATISTICS_DELAY_SECONDS)
    count = await transactions(url) - count
    return {
        "cpu_percent": round(100 * cpu / elapsed, 2),
        "transactions_per_second": round(count / elapsed, 1),
        "thread_read_p50_ms": round(1000 * statistics.median(reads), 2),
        "rss_mb": round(rss_kb(pid) / 1024, 1),
    }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    check_loopback(args.database_url)
    name = await create_database(args.database_url)
    url = with_database(args.database_url, name)
    svc = Service(url, RESULTS, args.threadlog, name="idle")
    # Every stream comes from this one address.
    caps = {"THREADLOG_MAX_STREAMS": str(args.streams), "THREADLOG_MAX_CONNECTIONS": "20000"}
    caps |= {"THREADLOG_MAX_STREAMS_PER_CLIENT": str(args.streams)}
    caps |= {"THREADLOG_MAX_CONNECTIONS_PER_CLIENT": "20000"}
    svc.server.env |= caps
    try:
        await svc.start()
        keys = await svc.provision()
        subscriber = last_line(
            await svc.cli("keys", "create", "--site", SITE, "--role", "subscriber")
        )
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(publish(session, svc, keys.publisher, post) for post in POSTS))
            baseline = await measure(svc, url, session, args.duration)
            keyed = {"Authorization": f"Bearer {subscriber}"}
            streams: list[asyncio.Task[None]] = []
            # In batches, each begun before the next: a storm of thousands of new streams at
            # once is another bench (the pool's acquire timeout answers some 503).
            for first in range(0, args.streams, BATCH):
                batch = []
                for n in range(first, min(first + BATCH, args.streams)):
                    opened = asyncio.Event()
                    path = f"{svc.base}/v1/events/stream" if n % 2 else None
                    path = path or svc.comments_url(POSTS[n % len(POSTS)]) + "/stream"
                    headers = keyed if n % 2 else {}
                    streams.append(asyncio.create_task(hold(session, path, headers, opened)))
                    batch.append(opened)
                await asyncio.gather(*(opened.wait() for opened in batch))
            try:
                idle = await measure(svc, url, session, args.duration)
                failed = [task for task in streams if task.done()]
            finally:
                for task in streams:
                    task.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*streams, return_exceptions=True)
    finally:
        await svc.stop()
        await drop_database(args.database_url, name)
    return {
        "streams": args.streams,
        "streams_ended_early": len(failed),
        "duration_s": args.duration,
        "no_streams": baseline,
        "idle_streams": idle,
    }


def main() -> int:
    args = parse_args()
    result = asyncio.run(bench(args))
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "idle_streams.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["streams_ended_early"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
