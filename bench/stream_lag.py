"""Live stream lag: how long after its append an event reaches a GET /v1/events/stream reader.

.venv/bin/python bench/stream_lag.py [--rate 1000] [--duration 10] [--instances 1]

An open-loop writer POSTs comments at --rate per second (spread over 100 posts, and round-robin
over --instances service processes on one database) while one SSE reader follows the stream of
the first instance: with more than one, most events reach it through the NOTIFY wake-up.
For each comment the lag is measured from the POST's response
(the append has committed by then: a lower bound) and from the POST's start (an upper bound)
to the moment the reader receives the event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from db import check_loopback, create_database, drop_database, with_database
from procs import last_line

from service import SITE, Service, publish

RESULTS = Path(__file__).resolve().parent / "results"
POSTS = [f"lag{i:03d}" for i in range(100)]
MAX_IN_FLIGHT = 512  # an overloaded service shows as a missed rate, not as unbounded tasks


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="appends per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of writing")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--threadlog", help="threadlog executable (default: the venv's)")
    parser.add_argument("--instances", type=int, default=1, help="service processes")
    parser.add_argument(
        "--writer",
        choices=["http", "direct"],
        default="http",
        help="POST through the service, or append from a process of its own (no HTTP)",
    )
    return parser.parse_args()


async def follow(
    session: aiohttp.ClientSession, svc: Service, key: str, received: dict[int, float]
) -> None:
    """Record when each bench comment's event arrives on the stream."""
    url = f"{svc.base}/v1/events/stream?types=comment.posted"
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with session.get(url, headers=headers, timeout=timeout) as response:
        response.raise_for_status()
        async for line in response.content:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                received[int(event["data"]["body"].split()[1])] = time.monotonic()


async def write(
    session: aiohttp.ClientSession,
    services: list[Service],
    args: argparse.Namespace,
    sent: dict[int, float],
    acked: dict[int, float],
) -> int:
    """POST at a fixed rate, whatever the responses' pace; returns the number of failures."""
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    failures = 0

    async def one(n: int) -> None:
        nonlocal failures
        body = {"author": {"name": "lag"}, "body": f"lag {n}"}
        sent[n] = time.monotonic()
        try:
            svc = services[n % len(services)]
            async with session.post(svc.comments_url(POSTS[n % len(POSTS)]), json=body) as resp:
                await resp.read()
                if resp.status == 201:
                    acked[n] = time.monotonic()
                else:
                    failures += 1
        finally:
            in_flight.release()

    tasks = []
    start = time.monotonic()
    total = int(args.rate * args.duration)
    for n in range(total):
        delay = start + n / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await in_flight.acquire()
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return failures


async def write_directly(
    url: str, args: argparse.Namespace, sent: dict[int, float], acked: dict[int, float]
) -> tuple[int, float]:
    """Append from bench/direct_writer.py in a process of its own; its times share our clock."""
    out = RESULTS / "direct_writer.json"
    # -P: bench/service.py must not shadow the service package.
    script = str(Path(__file__).with_name("direct_writer.py"))
    command = [sys.executable, "-P", script, url, SITE]
    command += [str(args.rate), str(args.duration), str(out), *POSTS]
    process = await asyncio.create_subprocess_exec(*command)
    if await process.wait() != 0:
        raise SystemExit("bench/direct_writer.py failed")
    result = json.loads(out.read_text())
    for n, times in result["times"].items():
        sent[int(n)] = times[0]
        if len(times) == 2:
            acked[int(n)] = times[1]
    return len(sent) - len(acked), float(result["elapsed"])


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)
    pick = lambda q: round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": round(1000 * ordered[-1], 2)}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    check_loopback(args.database_url)
    name = await create_database(args.database_url)
    url = with_database(args.database_url, name)
    services = [
        Service(url, RESULTS, args.threadlog, name=f"service{number}")
        for number in range(args.instances)
    ]
    svc = services[0]
    try:
        for service in services:  # one at a time: each migrates first
            await service.start()
        keys = await svc.provision()
        subscriber = last_line(
            await svc.cli("keys", "create", "--site", SITE, "--role", "subscriber")
        )
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT + 8)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(publish(session, svc, keys.publisher, post) for post in POSTS))
            sent: dict[int, float] = {}
            acked: dict[int, float] = {}
            received: dict[int, float] = {}
            reader = asyncio.create_task(follow(session, svc, subscriber, received))
            await asyncio.sleep(0.5)  # the reader is connected before the first write
            began = time.monotonic()
            if args.writer == "http":
                failures = await write(session, services, args, sent, acked)
                elapsed = time.monotonic() - began
            else:
                failures, elapsed = await write_directly(url, args, sent, acked)
            deadline = time.monotonic() + 30
            while len(received) < len(acked) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the reader fills `received` as events come
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    finally:
        await asyncio.gather(*(service.stop() for service in services))
        await drop_database(args.database_url, name)
    from_commit = [received[n] - acked[n] for n in acked if n in received]
    # Written through another instance than the reader's: reached it through NOTIFY.
    remote = [received[n] - acked[n] for n in acked if n in received and n % args.instances]
    from_start = [received[n] - sent[n] for n in acked if n in received]
    return {
        "writer": args.writer,
        "instances": args.instances,
        "target_rate": args.rate,
        "achieved_rate": round(len(acked) / elapsed, 1),
        "appended": len(acked),
        "failed": failures,
        "missing_on_stream": len(set(acked) - set(received)),
        "lag_after_response": percentiles([max(0.0, lag) for lag in from_commit]),
        "cross_instance_lag_after_response": percentiles([max(0.0, lag) for lag in remote]),
        "lag_after_request": percentiles(from_start),
        "mean_post_latency_ms": round(1000 * statistics.mean(acked[n] - sent[n] for n in acked), 2)
        if acked
        else None,
    }


def main() -> int:
    args = parse_args()
    result = asyncio.run(bench(args))
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stream_lag.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["missing_on_stream"] == 0 and result["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
