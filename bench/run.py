"""threadlog load bench: ceilings, then the real service, in one run. See bench/README.md.

.venv/bin/python bench/run.py [--duration 10] [--concurrency 32] [--only ceilings|service|scale]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import ceilings
from db import check_loopback, create_database, drop_database, with_database
from loadgen import Result
from report import cpu_targets, print_ratios, print_table, ratios, write_json
from scale import ScaleConfig, Target, print_targets, run_scale, summary
from scenarios import Config, run_all, seed

from service import Service

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="threadlog load bench (closed loop, 127.0.0.1 only)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per scenario (default 10)")
    p.add_argument("--concurrency", type=int, default=32, help="client tasks (default 32)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured s before each")
    p.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL used to CREATE and DROP a fresh threadlog_bench_<random> database",
    )
    p.add_argument("--only", choices=["ceilings", "service", "scale"], help="run only one part")
    p.add_argument(
        "--scale-comments", type=int, default=100_000, help="comments seeded for the scale part"
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="windows each of the writes compared by a target, taking turns",
    )
    p.add_argument(
        "--rebuild-timeout", type=float, default=1200.0, help="max seconds for the timed rebuild"
    )
    p.add_argument("--fill-concurrency", type=int, default=64, help="client tasks while seeding")
    p.add_argument(
        "--no-big-thread", action="store_true", help="skip post_into_10k (and its seeding)"
    )
    p.add_argument("--fill-timeout", type=float, default=600.0, help="max seconds to seed a thread")
    p.add_argument("--max-time", type=float, default=1800.0, help="cap on the whole run, s")
    p.add_argument("--threadlog", help="threadlog executable (default: the venv's, beside python)")
    p.add_argument(
        "--workers", type=int, default=1, help="serve the service scenarios with `--workers N`"
    )
    p.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    args = p.parse_args(argv)
    if args.duration <= 0 or args.concurrency < 1 or args.fill_concurrency < 1:
        p.error("--duration must be > 0, concurrencies >= 1")
    return args


async def _ceilings(
    args: argparse.Namespace, session: aiohttp.ClientSession, db_url: str, out: dict[str, Result]
) -> None:
    print(f"running hello_world ({args.duration:g}s, concurrency {args.concurrency})", flush=True)
    out["hello_world"] = await ceilings.hello_world(
        session,
        duration=args.duration,
        concurrency=args.concurrency,
        warmup=args.warmup,
        logs=RESULTS_DIR,
    )
    print(f"running raw_insert ({args.duration:g}s, pool of {args.concurrency})", flush=True)
    out["raw_insert"] = await ceilings.raw_insert(
        db_url, duration=args.duration, concurrency=args.concurrency, warmup=args.warmup
    )


async def _service(
    args: argparse.Namespace, session: aiohttp.ClientSession, db_url: str, out: dict[str, Result]
) -> None:
    cfg = Config(
        args.duration,
        args.concurrency,
        args.warmup,
        args.fill_concurrency,
        args.fill_timeout,
        0 if args.no_big_thread else 2500,
        args.rounds,
    )
    svc = Service(db_url, RESULTS_DIR, args.threadlog, workers=args.workers)
    print(f"starting threadlog ({svc.exe}, {args.workers} workers) on {svc.base}", flush=True)
    try:
        await svc.start()
        keys = await svc.provision()
        await seed(session, svc, keys, cfg)
        # run_all fills `out` only at its end; keep partial results by merging as we go.
        out.update(await run_all(session, svc, keys, cfg))
    finally:
        await svc.stop()


async def _scale(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    db_url: str,
    out: dict[str, Result],
    targets: list[Target],
) -> None:
    cfg = ScaleConfig(
        args.duration,
        args.concurrency,
        args.warmup,
        args.scale_comments,
        args.rebuild_timeout,
        args.rounds,
    )
    found, met = await run_scale(
        session, args.database_url, db_url, RESULTS_DIR, args.threadlog, cfg
    )
    out.update(found)
    targets.extend(met)


async def bench(args: argparse.Namespace) -> int:
    check_loopback(args.database_url)
    results: dict[str, Result] = {}
    targets: list[Target] = []
    error: str | None = None
    dbname = await create_database(args.database_url)
    print(f"created database {dbname}", flush=True)
    try:
        db_url = with_database(args.database_url, dbname)
        connector = aiohttp.TCPConnector(limit=max(args.concurrency, args.fill_concurrency))
        timeout = aiohttp.ClientTimeout(total=30)  # a stuck request fails, never hangs the run
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            async with asyncio.timeout(args.max_time):
                if args.only in (None, "ceilings"):
                    await _ceilings(args, session, db_url, results)
                if args.only in (None, "service"):
                    await _service(args, session, db_url, results)
        if args.only in (None, "scale"):
            # A database of its own: the scale part counts every event of its log.
            await drop_database(args.database_url, dbname)
            dbname = await create_database(args.database_url)
            print(f"created database {dbname}", flush=True)
            db_url = with_database(args.database_url, dbname)
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                async with asyncio.timeout(args.max_time):
                    await _scale(args, session, db_url, results, targets)
    except (Exception, TimeoutError) as exc:  # report what we have, then fail
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        await drop_database(args.database_url, dbname)
        print(f"dropped database {dbname}", flush=True)

    print_table(results)
    print_ratios(ratios(results), cpu_targets(results))
    print_targets(targets)
    params: dict[str, Any] = {
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "warmup_s": args.warmup,
        "only": args.only,
        "error": error,
        "scale_targets": summary(targets),
    }
    write_json(args.output, results, params)
    if error:
        print(f"\nbench FAILED: {error}", file=sys.stderr)
        return 1
    missed = [t.label for t in targets if not t.met]
    if missed:
        # Cost that grows with the data is a failure, not a number to read past.
        print(f"\nbench FAILED: scale targets missed: {'; '.join(missed)}", file=sys.stderr)
        return 2
    return 0


async def _main(args: argparse.Namespace) -> int:
    # SIGTERM cancels like Ctrl-C does, so the finally blocks stop children and drop the DB.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await bench(args)


def main() -> int:
    args = parse_args()
    try:
        return asyncio.run(_main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted: subprocesses stopped, database dropped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
