"""Two threadlog executables side by side, measured in alternating short windows.

On a shared machine a scenario's CPU per request swings by a third from one minute to the
next, so two separate `run.py` runs cannot tell a 5% change from noise. Here both services
run at once on databases of their own, seeded alike, and each scenario alternates between
them window by window (A B A B ...): whatever else the machine does hits both about equally.
The medians and the ratio B/A are what to report.

.venv/bin/python bench/ab.py --a OLD/.venv/bin/threadlog --b .venv/bin/threadlog --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
from pathlib import Path

import aiohttp
from db import check_loopback, create_database, drop_database, with_database
from loadgen import Op, run_closed_loop
from scenarios import POSTS, THREAD_200, Config, get_op, post_op, seed

from service import Service

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="threadlog executable A (the baseline)")
    parser.add_argument("--b", required=True, help="threadlog executable B (the change)")
    parser.add_argument("--rounds", type=int, default=7, help="windows per side and scenario")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per window")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--only", action="append", help="measure this scenario alone (may be repeated)"
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


def scenarios(session: aiohttp.ClientSession, svc: Service) -> dict[str, Op]:
    post_urls = [svc.comments_url(post) for post in POSTS]
    fifty = [("post", post) for post in POSTS[:50]]
    return {
        "post_comment": post_op(session, lambda: random.choice(post_urls)),
        "get_thread_200": get_op(session, svc.comments_url(THREAD_200), [("limit", "200")]),
        "counts_50": get_op(session, svc.counts_url(), fifty),
    }


async def compare(args: argparse.Namespace) -> None:
    check_loopback(args.database_url)
    names = [await create_database(args.database_url) for _ in range(2)]
    services = [
        Service(with_database(args.database_url, name), RESULTS_DIR, exe, name=f"ab-{side}")
        for name, exe, side in zip(names, (args.a, args.b), "ab", strict=True)
    ]
    config = Config(args.window, args.concurrency, 1.0, 16, 300.0, 0)
    try:
        connector = aiohttp.TCPConnector(limit=2 * args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            operations = []
            for svc in services:
                await svc.start()
                await seed(session, svc, await svc.provision(), config)
                operations.append(scenarios(session, svc))
            print(f"{'scenario':16} {'A ms/req':>9} {'B ms/req':>9} {'B/A':>7}   (medians)")
            for scenario in operations[0]:
                if args.only and scenario not in args.only:
                    continue
                spent: list[list[float]] = [[], []]
                for _ in range(args.rounds):
                    for side, svc in enumerate(services):
                        result = await run_closed_loop(
                            scenario,
                            operations[side][scenario],
                            duration=args.window,
                            concurrency=args.concurrency,
                            warmup=0.5,
                            cpu=svc.cpu_probe(),
                        )
                        per_request = result.cpu_ms(result.server_cpu_s)
                        if per_request is not None:
                            spent[side].append(per_request)
                a, b = (statistics.median(values) for values in spent)
                print(f"{scenario:16} {a:9.3f} {b:9.3f} {b / a:7.1%}", flush=True)
    finally:
        for svc in services:
            await svc.stop()
        for name in names:
            await drop_database(args.database_url, name)


if __name__ == "__main__":
    asyncio.run(compare(parse_args()))
