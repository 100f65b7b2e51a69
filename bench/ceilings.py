"""Ceilings: the best this machine does for one HTTP round trip and one committed INSERT.

The service's scenarios are reported as ratios of these, so the numbers mean something
on any machine (a 2-core CI box or a laptop alike).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import aiohttp
import asyncpg
from cpu import CpuProbe
from loadgen import Result, run_closed_loop
from procs import LOOPBACK, ManagedProcess, child_env, free_port, wait_http_ok

HERE = Path(__file__).resolve().parent


async def hello_world(
    session: aiohttp.ClientSession, *, duration: float, concurrency: int, warmup: float, logs: Path
) -> Result:
    """GET / on a bare aiohttp app in its own process (same client, same concurrency)."""
    port = free_port()
    server = ManagedProcess(
        "hello",
        [sys.executable, str(HERE / "hello.py"), "--host", LOOPBACK, "--port", str(port)],
        child_env(),
        logs / "hello.log",
    )
    url = f"http://{LOOPBACK}:{port}/"

    async def op() -> str | None:
        async with session.get(url) as resp:
            await resp.read()
            return None if 200 <= resp.status < 300 else f"http {resp.status}"

    await server.start()
    try:
        await wait_http_ok(url, server, limit_s=20)
        assert server.proc is not None
        return await run_closed_loop(
            "hello_world",
            op,
            duration=duration,
            concurrency=concurrency,
            warmup=warmup,
            cpu=CpuProbe(server.proc.pid, None),
        )
    finally:
        await server.stop()


# Shaped like a comment row, so the INSERT costs about what the service's event append costs.
_SCRATCH_DDL = """
CREATE TABLE bench_scratch (
    id bigserial PRIMARY KEY,
    stream text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
_INSERT = "INSERT INTO bench_scratch (stream, payload) VALUES ($1, $2::jsonb)"
_PAYLOAD = '{"author": {"name": "bench"}, "body": "a small comment body"}'


async def raw_insert(db_url: str, *, duration: float, concurrency: int, warmup: float) -> Result:
    """Autocommit single-row INSERTs from a pool of `concurrency` connections."""
    pool = await asyncpg.create_pool(db_url, min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute(_SCRATCH_DDL)

        async def op() -> str | None:
            # One op = acquire + one INSERT in its own implicit transaction (a commit per op).
            await pool.execute(_INSERT, f"post-{secrets.randbelow(100)}", _PAYLOAD)
            return None

        return await run_closed_loop(
            "raw_insert",
            op,
            duration=duration,
            concurrency=concurrency,
            warmup=warmup,
            cpu=CpuProbe(None, db_url),
        )
    finally:
        # Drop before the service runs so the scratch table cannot skew its numbers.
        await pool.execute("DROP TABLE IF EXISTS bench_scratch")
        await pool.close()
