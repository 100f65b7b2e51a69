"""How far a cached thread read is from aiohttp's floor for the same answer.

The service is seeded as bench/run.py seeds it; its 200-comment thread's body is then served
by bench/hello.py --body (no middleware, no access log, the same bytes and headers) beside it,
and both are read in alternating windows (A B A B ...). The medians of the two processes' CPU
per request show what the service adds to aiohttp's own work for that read.

.venv/bin/python bench/floor.py [--rounds 7 --window 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

import aiohttp
from cpu import process_cpu_seconds
from db import check_loopback, create_database, drop_database, with_database
from loadgen import run_closed_loop
from procs import LOOPBACK, ManagedProcess, child_env, free_port, wait_http_ok
from scenarios import THREAD_200, Config, get_op, seed

from service import Service

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
LIMIT = [("limit", "200")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="windows per side")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per window")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


async def measure(args: argparse.Namespace) -> None:
    check_loopback(args.database_url)
    name = await create_database(args.database_url)
    svc = Service(with_database(args.database_url, name), RESULTS_DIR, name="floor-service")
    port = free_port()
    body_file = RESULTS_DIR / "thread200.json"
    bare = ManagedProcess(
        "hello --body",
        [sys.executable, str(HERE / "hello.py"), "--port", str(port), "--body", str(body_file)],
        child_env(),
        RESULTS_DIR / "floor-hello.log",
    )
    try:
        connector = aiohttp.TCPConnector(limit=2 * args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await svc.start()
            await seed(session, svc, await svc.provision(), Config(args.window, 32, 1, 16, 300))
            thread_url = svc.comments_url(THREAD_200)
            plain = {"Accept-Encoding": "identity"}
            async with session.get(thread_url, params=LIMIT, headers=plain) as response:
                body_file.write_bytes(await response.read())
            await bare.start()
            await wait_http_ok(f"http://{LOOPBACK}:{port}/", bare, limit_s=30)
            assert svc.server.proc is not None and bare.proc is not None
            sides = {
                "aiohttp alone": (get_op(session, f"http://{LOOPBACK}:{port}/", LIMIT), bare),
                "threadlog": (get_op(session, thread_url, LIMIT), svc.server),
            }
            spent: dict[str, list[float]] = {side: [] for side in sides}
            for _ in range(args.rounds):
                for side, (op, process) in sides.items():
                    await run_closed_loop(side, op, duration=0.5, concurrency=args.concurrency)
                    pid = process.proc.pid if process.proc is not None else 0
                    before = process_cpu_seconds(pid) or 0.0
                    result = await run_closed_loop(
                        side, op, duration=args.window, concurrency=args.concurrency
                    )
                    after = process_cpu_seconds(pid) or 0.0
                    spent[side].append((after - before) * 1000 / max(result.ok, 1))
            floor, service = (statistics.median(spent[side]) for side in sides)
            print(f"aiohttp alone {floor:.3f} ms/req, threadlog {service:.3f} ms/req "
                  f"({service / floor:.2f}x; medians of {args.rounds} windows each)")  # fmt: skip
    finally:
        await bare.stop()
        await svc.stop()
        await drop_database(args.database_url, name)


if __name__ == "__main__":
    asyncio.run(measure(parse_args()))
