"""The scale scenarios: no cost may grow with the data (issue 15).

1. `write_empty`: comments and replies (30% replies) over 200 posts of a site with no comments.
2. The log gets `--scale-comments` more comments (30% replies) on 200 other posts of the same
   site, by COPY through the real codec (bench/seed_log.py), and `threadlog rebuild` makes
   every read model from it: `rebuild` counts its events per second.
3. `write_big`: the same load as 1, now over the 200 seeded posts, replies answering seeded
   comments too.
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
from loadgen import Op, Result, run_closed_loop
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


async def _measure(
    name: str, session: aiohttp.ClientSession, svc: Service, thread: dict[str, list[str]],
    cfg: ScaleConfig,
) -> Result:  # fmt: skip
    print(f"running {name} ({cfg.duration:g}s, concurrency {cfg.concurrency})", flush=True)
    # Each starts just after a checkpoint: a checkpoint that fell inside one window and not the
    # other made every first write to a page after it cost a full page in the WAL, which moved
    # the ratio by half.
    await run_command(["psql", "-Atc", "CHECKPOINT", svc.db_url], svc.env, 120)
    op = _write_op(session, svc, thread)
    return await run_closed_loop(
        name,
        op,
        duration=cfg.duration,
        concurrency=cfg.concurrency,
        warmup=cfg.warmup,
        cpu=svc.cpu_probe(),
    )


async def run_scale(
    session: aiohttp.ClientSession, db_url: str, logs: Path, exe: str | None, cfg: ScaleConfig
) -> tuple[dict[str, Result], list[Target]]:
    results: dict[str, Result] = {}
    empty = Service(db_url, logs, exe, name="scale-empty")
    print(f"starting threadlog ({empty.exe}) on {empty.base}", flush=True)
    try:
        await empty.start()
        keys: Keys = await empty.provision()
        posts = [f"e{i:03d}" for i in range(POSTS)]
        await asyncio.gather(*(publish(session, empty, keys.publisher, p) for p in posts))
        thread: dict[str, list[str]] = {post: [] for post in posts}
        results["write_empty"] = await _measure("write_empty", session, empty, thread, cfg)
    finally:
        await empty.stop()

    print(f"seeding: {cfg.comments:,} comments by COPY", flush=True)
    started = time.monotonic()
    out = logs / "scale_seed.json"
    seeder = [sys.executable, "-P", str(SEEDER), db_url, "bench", str(POSTS), str(cfg.comments),
              str(REPLY_SHARE), str(out)]  # fmt: skip
    await run_command(seeder, empty.env, limit_s=600)
    seeded: dict[str, list[str]] = json.loads(out.read_text())
    print(f"  seeded in {time.monotonic() - started:.1f}s", flush=True)

    events = int(
        (await run_command(["psql", "-Atc", "SELECT count(*) FROM events", db_url], empty.env, 30))
        .strip()
    )  # fmt: skip
    print(f"running threadlog rebuild of {events:,} events", flush=True)
    started = time.monotonic()
    # The rebuild is the only child that ends meanwhile: its CPU time is the children's growth.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    await empty.cli("rebuild", limit_s=cfg.rebuild_timeout)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    results["rebuild"] = Result(
        name="rebuild", ok=events, elapsed_s=elapsed, concurrency=1, server_cpu_s=cpu
    )
    print(f"  rebuilt {events:,} events in {elapsed:.1f}s ({events / elapsed:,.0f}/s)", flush=True)

    big = Service(db_url, logs, exe, name="scale-big")
    try:
        await big.start()
        results["write_big"] = await _measure("write_big", session, big, seeded, cfg)
    finally:
        await big.stop()

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
