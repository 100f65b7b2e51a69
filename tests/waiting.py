"""Waiting, with one deadline, for what happens in the background: a condition, the feed, the
log, a subprocess. Tests wait for what they need to see; they never sleep and hope."""

import asyncio
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from service.eventstore import store
from service.eventstore.cursors import START
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import lock_key
from tests.builders import Client, SiteKeys, json_body

DEADLINE_SECONDS = 30.0


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


async def feed(client: Client, site: SiteKeys, expected: int, **params: Any) -> dict[str, Any]:
    """The site's feed once it holds `expected` events.

    The feed shows an event only when every older transaction on the cluster has ended, so a
    transaction elsewhere (another test run, a backup) can delay it for a moment.
    """
    page: dict[str, Any] = {}

    async def complete() -> bool:
        nonlocal page
        response = await client.get("/v1/events", params=params, headers=site.auth("subscriber"))
        page = await json_body(response, 200)
        return len(page["events"]) >= expected

    await wait_until(complete, f"{expected} events in the feed of {site.site}")
    return page


async def site_events(pool: asyncpg.Pool, site: str, expected: int) -> list[RecordedEvent]:
    """The site's whole log once it shows `expected` events (for the same reason as `feed`)."""
    events: list[RecordedEvent] = []

    async def complete() -> bool:
        nonlocal events
        events = await store.read_all(pool, START, 1_000_000, site=site)
        return len(events) >= expected

    await wait_until(complete, f"{expected} events of {site} in the log")
    return events


async def advisory_holders(pool: asyncpg.Pool, name: str) -> list[int]:
    """The backends holding the session advisory lock of `name` (a webhook's, a relay's)."""
    key = lock_key(name) & (2**64 - 1)
    rows = await pool.fetch(
        """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1""",
        key >> 32,
        key & (2**32 - 1),
    )
    return [row["pid"] for row in rows]


def stop(process: "subprocess.Popen[bytes]", how: signal.Signals) -> None:
    """Signal `process` if it still runs, and wait for it to end."""
    if process.poll() is None:
        process.send_signal(how)
    process.wait(timeout=DEADLINE_SECONDS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(port: int) -> None:
    """Until the service on `port` answers /readyz with 200 (a subprocess started it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the service never became ready")
