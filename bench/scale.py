"""The scale scenarios: no cost may grow with the data (issue 15).

1. The big site: its database's log gets `--scale-comments` comments (30% replies) on 200 posts,
   by COPY through the real codec (bench/seed_log.py), `threadlog rebuild` makes every read
   model from it (`rebuild` counts its events per second), then VACUUM (ANALYZE).
2. The empty site: 200 posts and no comments, in a database of its own.
3. `write_empty` and `write_big`: comments and replies (30% replies, to a random comment of the
   post, seeded ones included) over each site's 200 posts, in alternating windows
   (`--rounds` of each, a CHECKPOINT before each window); their results are the
   windows' sums, and the ratio of each round is printed too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from db import create_database, drop_database, with_database
from loadgen import Op, Result, merged, run_closed_loop
from procs import run_command

from service import Keys, Service, comment_body, publish

REPLY_SHARE = 0.3
POSTS = 200
SEEDER = Path(__file__).resolve().parent / "seed_log.py"


@dataclass
class ScaleConfig:
    duration: float
    concurrency: int
    warmup: float
    comments: int
    rebuild_timeout: float
    # Alternating windows of each of write_empty and write_big.
    rounds: int = 3


@dataclass(frozen=True)
class Target:
    label: str
    value: float
    target: float
    unit: str

    @property
    def met(self) -> bool:
        return self.value >= self.target


def _write_op(session: aiohttp.ClientSession, svc: Service, thread: dict[str, list[str]]) -> Op:
    """A new comment on a random post; 30% of them answer a random comment of that post."""
    counter = itertools.count()
    posts = sorted(thread)

    async def op() -> str | None:
        post = random.choice(posts)
        known = thread[post]
        parent = random.choice(known) if known and random.random() < REPLY_SHARE else None
        async with session.post(
            svc.comments_url(post), json=comment_body(next(counter), parent)
        ) as resp:
            body = await resp.read()
            if resp.status != 201:
                return f"http {resp.status}"
        known.append(str(json.loads(body)["id"]))
        return None

    return op


async def _window(name: str, svc: Service, op: Op, cfg: ScaleConfig) -> Result:
    # Each window starts just after a checkpoint: a checkpoint that fell inside one window and
    # not the other made every first write to a page after it cost a full page in the WAL,
    # which moved the ratio by half.
    await run_command(["psql", "-Atc", "CHECKPOINT", svc.db_url], svc.env, 120)
    return await run_closed_loop(
        name,
        op,
        duration=cfg.duration,
        concurrency=cfg.concurrency,
        warmup=cfg.warmup,
        cpu=svc.cpu_probe(),
    )


async def run_scale(
    session: aiohttp.ClientSession,
    admin_url: str,
    db_url: str,
    logs: Path,
    exe: str | None,
    cfg: ScaleConfig,
) -> tuple[dict[str, Result], list[Target]]:
    results: dict[str, Result] = {}
    # The empty site has a database of its own, so that nothing of the big site's is in its
    # tables; the two are measured in alternating windows, so that what else the machine does
    # (and the checkpoints) falls on both alike.
    empty_name = await create_database(admin_url)
    empty = Service(with_database(admin_url, empty_name), logs, exe, name="scale-empty")
    big = Service(db_url, logs, exe, name="scale-big")
    try:
        print(f"starting threadlog ({empty.exe}) on {empty.base}", flush=True)
        await empty.start()
        keys: Keys = await empty.provision()
        posts = [f"e{i:03d}" for i in range(POSTS)]
        await asyncio.gather(*(publish(session, empty, keys.publisher, p) for p in posts))
        thread: dict[str, list[str]] = {post: [] for post in posts}

        await big.cli("migrate", limit_s=120)
        await big.provision()
        results["rebuild"], events = await _seed_and_rebuild(big, logs, cfg)
        seeded: dict[str, list[str]] = json.loads((logs / "scale_seed.json").read_text())
        # A site that grew to this size over months has been vacuumed meanwhile; one loaded
        # a moment ago has not (its first writes would set the hint bits of every page).
        await run_command(["psql", "-Atc", "VACUUM (ANALYZE)", db_url], big.env, 600)
        await big.start()

        operations = {"write_empty": _write_op(session, empty, thread)}
        operations["write_big"] = _write_op(session, big, seeded)
        windows: dict[str, list[Result]] = {name: [] for name in operations}
        for round_number in range(cfg.rounds):
            for name, svc in (("write_empty", empty), ("write_big", big)):
                print(f"running {name} ({cfg.duration:g}s, round {round_number + 1})", flush=True)
                windows[name].append(await _window(name, svc, operations[name], cfg))
        for name, found in windows.items():
            results[name] = merged(name, found)
        rounds = [
            f"{b.throughput / max(e.throughput, 1e-9):.1%}"
            for e, b in zip(windows["write_empty"], windows["write_big"], strict=True)
        ]
        print(f"  write_big / write_empty by round: {', '.join(rounds)}", flush=True)
    finally:
        await empty.stop()
        await big.stop()
        await drop_database(admin_url, empty_name)

    targets = [
        Target(
            f"write_big / write_empty ({cfg.comments:,} comments)",
            results["write_big"].throughput / max(results["write_empty"].throughput, 1e-9),
            0.90,
            "ratio",
        ),
        Target(f"rebuild of {events:,} events", results["rebuild"].throughput, 10_000, "events/s"),
    ]
    return results, targets


async def _seed_and_rebuild(big: Service, logs: Path, cfg: ScaleConfig) -> tuple[Result, int]:
    print(f"seeding: {cfg.comments:,} comments by COPY", flush=True)
    started = time.monotonic()
    out = logs / "scale_seed.json"
    seeder = [sys.executable, "-P", str(SEEDER), big.db_url, "bench", str(POSTS),
              str(cfg.comments), str(REPLY_SHARE), str(out)]  # fmt: skip
    await run_command(seeder, big.env, limit_s=600)
    print(f"  seeded in {time.monotonic() - started:.1f}s", flush=True)

    count = ["psql", "-Atc", "SELECT count(*) FROM events", big.db_url]
    events = int((await run_command(count, big.env, 30)).strip())
    print(f"running threadlog rebuild of {events:,} events", flush=True)
    started = time.monotonic()
    # The rebuild is the only child that ends meanwhile: its CPU time is the children's growth.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    await big.cli("rebuild", limit_s=cfg.rebuild_timeout)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    print(f"  rebuilt {events:,} events in {elapsed:.1f}s ({events / elapsed:,.0f}/s)", flush=True)
    rebuild = Result(name="rebuild", ok=events, elapsed_s=elapsed, concurrency=1, server_cpu_s=cpu)
    return rebuild, events


def print_targets(targets: list[Target]) -> None:
    print()
    for t in targets:
        shown = f"{t.value:.1%}" if t.unit == "ratio" else f"{t.value:,.0f} {t.unit}"
        wanted = f"{t.target:.0%}" if t.unit == "ratio" else f"{t.target:,.0f} {t.unit}"
        verdict = "ok" if t.met else "SCALE TARGET MISSED"
        print(f"{t.label:<44} {shown:>14}  (target >= {wanted})  {verdict}")


def summary(targets: list[Target]) -> list[dict[str, Any]]:
    return [
        {"target": t.label, "value": round(t.value, 3), "wanted": t.target, "met": t.met}
        for t in targets
    ]
