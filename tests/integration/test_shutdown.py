"""`threadlog serve` shuts down as Docker and Kubernetes expect: on SIGTERM (or SIGINT) it ends
its live streams at once, finishes what is in progress, loses no acknowledged write and exits
within THREADLOG_SHUTDOWN_SECONDS; a second signal, or a shutdown past that bound, exits at once.
A real subprocess on a private cluster."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.builders import SiteKeys, make_site
from tests.clusters import Cluster, free_port, migrated_database
from tests.waiting import DEADLINE_SECONDS

THREADLOG = str(Path(sys.executable).parent / "threadlog")
SHUTDOWN_SECONDS = 10.0  # the default
# How long after its deadline a process may take to be gone: the signal's delivery, the
# interpreter's exit.
MARGIN_SECONDS = 1.0
STREAMS = 200
WRITERS = 16


@dataclass
class Serving:
    process: "subprocess.Popen[bytes]"
    base: str
    url: str
    site: SiteKeys
    log: Path

    def signal(self, number: signal.Signals) -> float:
        self.process.send_signal(number)
        return time.monotonic()

    async def exited_within(self, since: float, seconds: float) -> float:
        """Wait (a little longer than `seconds`) for the process to end; how long it took."""
        try:
            await asyncio.to_thread(self.process.wait, seconds + MARGIN_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {seconds} s after the signal") from None
        return time.monotonic() - since


@contextlib.asynccontextmanager
async def serving(cluster: Cluster, tmp_path: Path, **environment: str) -> AsyncIterator[Serving]:
    url = await migrated_database(cluster)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        site = await make_site(pool)
    finally:
        await pool.close()
    port = free_port()
    log = tmp_path / "serve.log"
    settings = {
        "DATABASE_URL": url,
        "THREADLOG_PORT": str(port),
        "THREADLOG_DEFAULT_RATE_LIMIT_PER_MINUTE": "0",
        # Every stream comes from this one address.
        "THREADLOG_MAX_STREAMS_PER_CLIENT": str(STREAMS),
    }
    process = start_serve(os.environ | settings | environment, log)
    try:
        base = f"http://127.0.0.1:{port}"
        await until_ready(base, process)
        yield Serving(process, base, url, site, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_serve(environment: dict[str, str], log: Path) -> "subprocess.Popen[bytes]":
    with log.open("wb") as output:
        return subprocess.Popen(
            [THREADLOG, "serve"], env=environment, stdout=output, stderr=subprocess.STDOUT
        )


async def until_ready(base: str, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    async with aiohttp.ClientSession() as session:
        while True:
            assert process.poll() is None, "serve exited early"
            assert time.monotonic() < deadline, "serve never became ready"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


@dataclass
class Traffic:
    """Streams and writers against a serving process, and what they saw."""

    serving: Serving
    session: aiohttp.ClientSession
    post_id: str
    acknowledged: list[str] = field(default_factory=list)
    opened: int = 0
    hinted: int = 0
    ended: int = 0

    async def stream(self, path: str, headers: dict[str, str]) -> None:
        async with self.session.get(self.serving.base + path, headers=headers) as response:
            assert response.status == 200
            self.opened += 1
            with contextlib.suppress(aiohttp.ClientError):
                async for line in response.content:
                    if line.startswith(b"retry: "):
                        self.hinted += 1
            self.ended += 1

    async def write(self) -> None:
        site = self.serving.site.site
        path = f"{self.serving.base}/v1/sites/{site}/posts/{self.post_id}/comments"
        body = {"author": {"name": "Ann"}, "body": "in flight"}
        while True:
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            try:
                async with self.session.post(path, json=body, headers=headers) as response:
                    if response.status != 201:
                        return  # 503: shutting down
                    self.acknowledged.append((await response.json())["id"])
            except aiohttp.ClientError:
                return  # the service closed the connection, or no longer listens


async def stored_comments(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT data ->> 'comment_id' AS id FROM events WHERE type = 'comment.posted'"
        )
    finally:
        await connection.close()
    return {row["id"] for row in rows}


async def test_sigterm_ends_200_streams_and_exits_in_time_keeping_every_acknowledged_write(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    async with (
        serving(private_cluster, tmp_path) as served,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
    ):
        site = served.site
        published = await session.put(
            f"{served.base}/v1/sites/{site.site}/posts/p",
            json={"title": "P", "url": "https://blog.example/p"},
            headers=site.auth("publisher"),
        )
        assert published.status == 201
        traffic = Traffic(served, session, "p")
        readers = [
            traffic.stream(f"/v1/sites/{site.site}/posts/p/comments/stream", {})
            for _ in range(STREAMS // 2)
        ]
        holders = [
            traffic.stream("/v1/events/stream", site.auth("subscriber"))
            for _ in range(STREAMS - STREAMS // 2)
        ]
        streams = asyncio.gather(*readers, *holders)
        writers = asyncio.gather(*(traffic.write() for _ in range(WRITERS)))
        deadline = time.monotonic() + DEADLINE_SECONDS
        while traffic.opened < STREAMS or len(traffic.acknowledged) < 100:
            assert time.monotonic() < deadline, (traffic.opened, len(traffic.acknowledged))
            await asyncio.sleep(0.05)

        signalled = served.signal(signal.SIGTERM)
        took = await served.exited_within(signalled, SHUTDOWN_SECONDS)
        await asyncio.wait_for(asyncio.gather(streams, writers), DEADLINE_SECONDS)
    assert served.process.returncode == 0, served.log.read_text()
    assert took < SHUTDOWN_SECONDS
    assert traffic.ended == traffic.hinted == STREAMS
    assert set(traffic.acknowledged) <= await stored_comments(served.url)
    assert "Traceback" not in served.log.read_text()


async def test_a_second_signal_exits_at_once(private_cluster: Cluster, tmp_path: Path) -> None:
    """A write stuck behind a lock holds the shutdown; the operator's second Ctrl-C ends it."""
    patient = serving(private_cluster, tmp_path, THREADLOG_SHUTDOWN_SECONDS="60")
    async with patient as served, stuck_write(served):
        served.signal(signal.SIGINT)
        await asyncio.sleep(1)
        assert served.process.poll() is None  # still waiting for the write
        signalled = served.signal(signal.SIGTERM)
        await served.exited_within(signalled, 0)
    assert served.process.returncode == 128 + signal.SIGTERM


async def test_a_shutdown_past_its_bound_exits_anyway(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    hasty = serving(private_cluster, tmp_path, THREADLOG_SHUTDOWN_SECONDS="3")
    async with hasty as served, stuck_write(served):
        signalled = served.signal(signal.SIGTERM)
        await served.exited_within(signalled, 3)
    assert served.process.returncode == 1
    assert "still shutting down after 3 s" in served.log.read_text()


@contextlib.asynccontextmanager
async def stuck_write(served: Serving) -> AsyncIterator[None]:
    """A comment in flight that cannot commit: another session holds the log's table."""
    locker = await asyncpg.connect(served.url)
    session = aiohttp.ClientSession()
    try:
        site = served.site
        published = await session.put(
            f"{served.base}/v1/sites/{site.site}/posts/p",
            json={"title": "P", "url": "https://blog.example/p"},
            headers=site.auth("publisher"),
        )
        assert published.status == 201
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        path = f"{served.base}/v1/sites/{site.site}/posts/p/comments"
        write = asyncio.create_task(
            session.post(path, json={"author": {"name": "Ann"}, "body": "stuck"})
        )
        await asyncio.sleep(0.5)
        assert not write.done()
        yield
        await transaction.rollback()
        write.cancel()
        await asyncio.gather(write, return_exceptions=True)
    finally:
        await session.close()
        await locker.close()
