"""The real threadlog service in a subprocess, plus the HTTP calls the bench needs to seed it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cpu import CpuProbe
from procs import (
    LOOPBACK,
    ManagedProcess,
    child_env,
    free_port,
    last_line,
    run_command,
    wait_http_ok,
)

SITE = "bench"


def threadlog_executable() -> str:
    """The `threadlog` console script of this interpreter's venv, else the one on PATH."""
    beside = Path(sys.executable).parent / "threadlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("threadlog")
    if found is None:
        raise SystemExit("threadlog console script not found: `pip install -e .` into the venv")
    return found


@dataclass
class Keys:
    publisher: str
    moderator: str


class Service:
    def __init__(
        self,
        db_url: str,
        logs: Path,
        exe: str | None = None,
        name: str = "service",
        workers: int = 1,
    ):
        self.exe = exe or threadlog_executable()
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.env = child_env(
            DATABASE_URL=db_url, THREADLOG_HOST=LOOPBACK, THREADLOG_PORT=str(self.port)
        )
        self.server = ManagedProcess(
            "threadlog serve",
            [self.exe, "serve", "--host", LOOPBACK, "--port", str(self.port)]
            + (["--workers", str(workers)] if workers > 1 else []),
            self.env,
            logs / f"{name}.log",
        )

    async def cli(self, *args: str, limit_s: float = 60) -> str:
        return await run_command([self.exe, *args], self.env, limit_s)

    async def start(self) -> None:
        await self.cli("migrate", limit_s=120)
        await self.server.start()
        await wait_http_ok(f"{self.base}/readyz", self.server, limit_s=60)

    async def stop(self) -> None:
        await self.server.stop()

    def cpu_probe(self) -> CpuProbe:
        """The CPU time of the serving process and of the backends of its database."""
        proc = self.server.proc
        return CpuProbe(proc.pid if proc is not None else None, self.db_url)

    async def provision(self) -> Keys:
        await self.cli("sites", "create", SITE, "--title", "Bench", "--origin", "http://127.0.0.1")
        # The load comes from one address: the per-client comment rate limit must be off.
        # (A threadlog from before moderation has no limit, and no `sites set`.)
        with contextlib.suppress(RuntimeError):
            await self.cli("sites", "set", SITE, "--rate-limit", "0")
        return Keys(
            publisher=await self._new_key("publisher"), moderator=await self._new_key("moderator")
        )

    async def _new_key(self, role: str) -> str:
        # The CLI prints the new key alone on its last stdout line.
        return last_line(await self.cli("keys", "create", "--site", SITE, "--role", role))

    # --- URLs -------------------------------------------------------------------------------

    def post_url(self, post: str) -> str:
        return f"{self.base}/v1/sites/{SITE}/posts/{post}"

    def comments_url(self, post: str) -> str:
        return f"{self.post_url(post)}/comments"

    def counts_url(self) -> str:
        return f"{self.base}/v1/sites/{SITE}/counts"


async def _expect(resp: aiohttp.ClientResponse, *statuses: int) -> Any:
    body = await resp.read()
    if resp.status not in statuses:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: {body[:500]!r}")
    return await resp.json() if body else None


async def publish(session: aiohttp.ClientSession, svc: Service, key: str, post: str) -> None:
    body = {"title": f"Bench post {post}", "url": f"http://127.0.0.1/{post}", "labels": ["bench"]}
    headers = {"Authorization": f"Bearer {key}"}
    async with session.put(svc.post_url(post), json=body, headers=headers) as resp:
        await _expect(resp, 200, 201)


def comment_body(n: int, parent_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"author": {"name": "bench"}, "body": f"Comment *{n}* from the bench."}
    if parent_id is not None:
        body["parent_id"] = parent_id
    return body


async def post_comment(
    session: aiohttp.ClientSession, svc: Service, post: str, n: int, parent_id: str | None = None
) -> str:
    async with session.post(svc.comments_url(post), json=comment_body(n, parent_id)) as resp:
        created = await _expect(resp, 201)
    return str(created["id"])


async def fill_thread(
    session: aiohttp.ClientSession,
    svc: Service,
    post: str,
    *,
    top_level: int,
    replies_each: int,
    concurrency: int,
    limit_s: float,
) -> None:
    """Seed `post` with `top_level` comments, each with `replies_each` replies, concurrently.

    Each unit (one top-level comment, then its replies) is sequential, so parents exist first.
    """
    total = top_level * (1 + replies_each)
    done = 0
    next_unit = 0
    started = time.monotonic()
    last_print = started

    async def unit_worker() -> None:
        nonlocal done, next_unit, last_print
        while next_unit < top_level:
            unit = next_unit
            next_unit += 1
            parent = await post_comment(session, svc, post, unit * (1 + replies_each))
            for r in range(replies_each):
                await post_comment(session, svc, post, unit * (1 + replies_each) + r + 1, parent)
            done += 1 + replies_each
            now = time.monotonic()
            if total >= 1000 and now - last_print >= 2:
                last_print = now
                rate = done / (now - started)
                print(f"  filling {post}: {done}/{total} comments ({rate:.0f}/s)", flush=True)

    try:
        await asyncio.wait_for(
            asyncio.gather(*(unit_worker() for _ in range(min(concurrency, top_level)))), limit_s
        )
    except TimeoutError:
        raise TimeoutError(f"filling {post} took over {limit_s}s ({done}/{total} done)") from None
    if total >= 1000:
        print(f"  filled {post}: {total} comments in {time.monotonic() - started:.1f}s", flush=True)
