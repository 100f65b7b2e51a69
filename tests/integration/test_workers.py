"""`threadlog serve --workers N`: N processes on one port, each with its share of connections;
a worker that dies is started again; SIGTERM stops them all cleanly; a supervisor killed takes
its workers with it; the embedded PostgreSQL still works. Real subprocesses."""

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import aiohttp
import asyncpg

from tests.builders import THREADLOG, make_site, new_id
from tests.processes import children, established, running
from tests.serving_process import serve_process, start, until_ready
from tests.waiting import DEADLINE_SECONDS, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


async def worker_pids(supervisor: int, count: int) -> list[int]:
    found: list[int] = []

    async def all_there() -> bool:
        nonlocal found
        found = [pid for pid in children(supervisor) if running(pid)]
        return len(found) == count

    await wait_until(all_there, f"{count} workers")
    return found


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each having had one request answered, kept open."""
    held = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_SECONDS)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        held.append(connection)
    return held


async def test_workers_share_the_port_restart_when_killed_and_stop_on_sigterm(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    site = await make_site(pool)
    async with serve_process(database_url, tmp_path, THREADLOG_WORKERS="2") as served:
        supervisor = served.process.pid
        first, second = await worker_pids(supervisor, 2)
        # The kernel spreads connections over the workers' sockets by their addresses.
        held = await asyncio.to_thread(hold_connections, served.port, 40)
        assert established(first, served.port) > 0 and established(second, served.port) > 0
        for connection in held:
            connection.close()

        post_id = new_id()
        path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
        # A connection per request: one kept alive to the killed worker would be reset (the
        # client cannot know before it sends), which says nothing about the service.
        fresh = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(served.base, connector=fresh) as session:
            body = {"title": "T", "url": "https://blog.example/t", "labels": []}
            put = await session.put(f"/v1/sites/{site.site}/posts/{post_id}", json=body,
                                    headers=site.auth("publisher"))  # fmt: skip
            assert put.status == 201, await put.text()
            os.kill(first, signal.SIGKILL)

            async def killed() -> bool:
                return not running(first)

            # Until it is gone its listening socket may still take a connection, and drop it.
            await wait_until(killed, "the killed worker to be gone")
            # The other worker answers meanwhile; a new one takes the dead one's place.
            for number in range(10):
                answer = await session.post(
                    path, json={"author": {"name": "A"}, "body": f"{number}"}
                )
                assert answer.status == 201, await answer.text()
            replaced = await worker_pids(supervisor, 2)
            assert first not in replaced and second in replaced
            thread = await (await session.get(path)).json()
            assert len(thread["comments"]) == 10
        await until_ready(served)

        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(served.process.wait, DEADLINE_SECONDS) == 0
        assert not any(running(pid) for pid in replaced)
    log = served.log.read_text()
    assert "worker 0 was killed by SIGKILL; starting another" in log
    assert log.count("stop from the supervisor: shutting down") == 2, log


async def test_workers_stop_when_their_supervisor_is_killed(
    database_url: str, tmp_path: Path
) -> None:
    async with serve_process(database_url, tmp_path, THREADLOG_WORKERS="2") as served:
        pids = await worker_pids(served.process.pid, 2)
        served.process.kill()
        served.process.wait()

        async def all_gone() -> bool:
            return not any(running(pid) for pid in pids)

        await wait_until(all_gone, "the workers to stop")


def test_a_bad_workers_value_is_a_usage_error() -> None:
    done = subprocess.run([THREADLOG, "serve", "--workers", "many"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "not a number or `auto`" in done.stderr
    environment = os.environ | {"THREADLOG_WORKERS": "0", "DATABASE_URL": "postgresql://x/y"}
    done = subprocess.run([THREADLOG, "serve"], env=environment, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2 and "THREADLOG_WORKERS" in done.stderr, done.stderr


async def test_workers_on_the_embedded_postgres(tmp_path: Path) -> None:
    port = free_port()
    data_dir = ROOT / ".threadlog" / f"test-workers-{secrets.token_hex(3)}"
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment |= {
        "THREADLOG_DATA_DIR": str(data_dir),
        "THREADLOG_PORT": str(port),
        "THREADLOG_WORKERS": "2",
    }
    log = tmp_path / "serve.log"
    try:
        process = start(environment, log)
        try:
            base = f"http://127.0.0.1:{port}"
            served = type("Served", (), {"process": process, "log": log, "base": base})()
            await until_ready(served)  # type: ignore[arg-type]
            await worker_pids(process.pid, 2)
            async with aiohttp.ClientSession(base) as session:
                for _ in range(4):  # over fresh connections, so both workers answer some
                    async with session.get(
                        "/v1/sites/demo/posts/hello-world/comments", headers={"Connection": "close"}
                    ) as response:
                        assert response.status == 200
                        assert (await response.json())["post"] == "hello-world"
        finally:
            process.send_signal(signal.SIGINT)
            code = await asyncio.to_thread(process.wait, 60)
        assert code == 0, log.read_text()
        text = log.read_text()
        assert text.count("its moderator key") == 1, text
        # The embedded PostgreSQL stopped with the supervisor, not with a worker.
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
