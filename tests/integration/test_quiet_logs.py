"""Expected conditions make one log line at most, never an error with a traceback (issue 11,
row 4): every reader who left a live stream at the wrong moment, and every malformed request,
once wrote an ERROR and a traceback, so a crowd of clients could fill the log. Against
`threadlog serve`, reading its log."""

import asyncio
import socket
import struct
from pathlib import Path

import aiohttp
import asyncpg

from tests.builders import make_site
from tests.serving_process import Served, serve_process

LEAVERS = 100


def leave_abruptly(connection: socket.socket) -> None:
    """Close with a reset, as a browser tab that is killed does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


async def settled(served: Served, path: str) -> None:
    """Wait until every stream the test opened has ended in the server: then it can open as
    many as the cap allows again."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(100):
            responses = await asyncio.gather(
                *(session.get(served.base + path) for _ in range(LEAVERS))
            )
            for response in responses:
                response.close()
            if all(response.status == 200 for response in responses):
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the streams of clients that left still hold their slots")


async def test_clients_leaving_streams_and_malformed_requests_log_no_errors(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    site = await make_site(pool)
    environment = {"THREADLOG_MAX_STREAMS_PER_CLIENT": str(LEAVERS)}
    async with serve_process(database_url, tmp_path, **environment) as served:
        async with aiohttp.ClientSession() as session:
            published = await session.put(
                f"{served.base}/v1/sites/{site.site}/posts/p",
                json={"title": "P", "url": "https://blog.example/p"},
                headers=site.auth("publisher"),
            )
            assert published.status == 201
        requests = [
            f"GET /v1/sites/{site.site}/posts/p/comments/stream HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /v1/events/stream HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {site.subscriber}\r\n\r\n",
        ]
        # Some leave before their stream begins, some once it has begun.
        early = []
        for number in range(LEAVERS):
            connection = served.connect()
            connection.sendall(requests[number % 2].encode())
            early.append(connection)
        for connection in early[: LEAVERS // 2]:
            leave_abruptly(connection)
        for connection in early[LEAVERS // 2 :]:
            connection.recv(12)
            leave_abruptly(connection)
        # Malformed requests: bare line feeds, a header line without a colon.
        for malformed in (b"GET / HTTP/1.1\nHost: t\n\n", b"GET / HTTP/1.1\r\nnonsense\r\n\r\n"):
            with served.connect() as connection:
                connection.sendall(malformed)
                assert connection.recv(12)[-3:] == b"400"
        await settled(served, f"/v1/sites/{site.site}/posts/p/comments/stream")
        log = served.log.read_text()
    assert "Traceback" not in log, log[:3000]
    assert "ERROR" not in log, log[:3000]
