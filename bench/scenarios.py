"""The service scenarios: seed the data, then run each one closed-loop against the service."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from loadgen import Op, Result, merged, run_closed_loop

from service import Keys, Service, comment_body, fill_thread, post_comment, publish

POSTS = [f"p{i:03d}" for i in range(100)]  # post_comment spreads over these
THREAD_200 = "thread200"  # 50 top-level comments x (1 + 3 replies)
EMPTY = "empty"
REPLIES = "replies"  # every reply answers its one top-level comment
BIG = "big10k"  # 2,500 top-level comments x (1 + 3 replies) = 10,000


@dataclass
class Config:
    duration: float
    concurrency: int
    warmup: float
    fill_concurrency: int
    fill_timeout: float
    # The top-level comments of post_into_10k's thread, each with 3 replies; 0 skips it.
    big_top_level: int = 2500
    # Windows of each write scenario, taking turns; each lasts duration / rounds.
    rounds: int = 3


async def seed(session: aiohttp.ClientSession, svc: Service, keys: Keys, cfg: Config) -> None:
    print("seeding: publishing posts", flush=True)
    sem = asyncio.Semaphore(cfg.fill_concurrency)

    async def one(post: str) -> None:
        async with sem:
            await publish(session, svc, keys.publisher, post)

    await asyncio.gather(*(one(p) for p in [*POSTS, THREAD_200, EMPTY, REPLIES, BIG]))
    print("seeding: 200-comment thread", flush=True)
    await fill_thread(
        session,
        svc,
        THREAD_200,
        top_level=50,
        replies_each=3,
        concurrency=cfg.fill_concurrency,
        limit_s=cfg.fill_timeout,
    )
    await check_thread(session, svc)


async def check_thread(session: aiohttp.ClientSession, svc: Service) -> None:
    """Make sure get_thread_200 really returns 200 comments, or its number means nothing."""
    async with session.get(svc.comments_url(THREAD_200), params={"limit": "200"}) as resp:
        resp.raise_for_status()
        thread = await resp.json()
    top = len(thread["comments"])
    nested = sum(1 + len(c["replies"]) for c in thread["comments"])
    if top != 50 or nested != 200:
        print(f"  warning: thread200 returned {top} top-level / {nested} comments, expected 50/200")


def post_op(
    session: aiohttp.ClientSession, pick_url: Callable[[], str], parent_id: str | None = None
) -> Op:
    counter = itertools.count()

    async def op() -> str | None:
        body = comment_body(next(counter), parent_id)
        async with session.post(pick_url(), json=body) as resp:
            await resp.read()
            return None if resp.status == 201 else f"http {resp.status}"

    return op


def get_op(session: aiohttp.ClientSession, url: str, params: list[tuple[str, str]]) -> Op:
    async def op() -> str | None:
        # No If-None-Match: the full body is rendered and sent every time.
        async with session.get(url, params=params) as resp:
            await resp.read()
            return None if resp.status == 200 else f"http {resp.status}"

    return op


async def run_all(
    session: aiohttp.ClientSession, svc: Service, keys: Keys, cfg: Config
) -> dict[str, Result]:
    results: dict[str, Result] = {}

    async def window(name: str, op: Op, duration: float) -> Result:
        print(f"running {name} ({duration:g}s, concurrency {cfg.concurrency})", flush=True)
        return await run_closed_loop(
            name,
            op,
            duration=duration,
            concurrency=cfg.concurrency,
            warmup=cfg.warmup,
            cpu=svc.cpu_probe(),
        )

    async def measure(name: str, op: Op) -> None:
        results[name] = await window(name, op, cfg.duration)

    thread_url = svc.comments_url(THREAD_200)
    await measure("get_thread_200", get_op(session, thread_url, [("limit", "200")]))
    fifty = [("post", p) for p in POSTS[:50]]
    await measure("counts_50", get_op(session, svc.counts_url(), fifty))

    # The writes whose ratios are targets take turns, a window each per round: minutes apart,
    # what else the machine did moved their ratio by a third.
    post_urls = [svc.comments_url(p) for p in POSTS]
    empty_url = svc.comments_url(EMPTY)
    # Replies to one popular comment: the same load as post_into_empty, one level down.
    popular = await post_comment(session, svc, REPLIES, 0)
    replies_url = svc.comments_url(REPLIES)
    writes = {
        "post_comment": post_op(session, lambda: random.choice(post_urls)),
        "post_into_empty": post_op(session, lambda: empty_url),
        "post_replies": post_op(session, lambda: replies_url, popular),
    }
    windows: dict[str, list[Result]] = {name: [] for name in writes}
    for _ in range(cfg.rounds):
        for name, op in writes.items():
            windows[name].append(await window(name, op, cfg.duration / cfg.rounds))
    for name, taken in windows.items():
        results[name] = merged(name, taken)

    if not cfg.big_top_level:
        return results
    total = cfg.big_top_level * 4
    print(f"seeding: {total:,}-comment thread (concurrency {cfg.fill_concurrency})", flush=True)
    await fill_thread(
        session,
        svc,
        BIG,
        top_level=cfg.big_top_level,
        replies_each=3,
        concurrency=cfg.fill_concurrency,
        limit_s=cfg.fill_timeout,
    )
    big_url = svc.comments_url(BIG)
    await measure("post_into_10k", post_op(session, lambda: big_url))
    return results
