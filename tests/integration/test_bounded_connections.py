"""Connections are bounded (issue 11, row 1): thousands of connections that send a few bytes of
a body, or of their headers, once held as many open files and kept /healthz from answering.
Now each client address holds a bounded number of connections (more are answered 429 and
closed), the whole service a bounded total (503), and a request whose headers or body do not
arrive in time is closed (408 for a body). Against `threadlog serve`, counting its open files."""

import asyncio
import json
import socket
from pathlib import Path

import aiohttp

from service.gate import REFUSING_AT_MOST
from tests.serving_process import Served, response_of, serve_process

PER_CLIENT = 20
ATTACK = 300
SLOW_BODY = (
    b"POST /v1/sites/s/posts/p/comments HTTP/1.1\r\nHost: threadlog\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    b'{"author": '
)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def problem_of(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"Content-Type: application/problem+json" in head
    assert b"Retry-After: " in head
    problem: dict[str, object] = json.loads(body)
    return problem


async def healthz_from(served: Served, source: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"{served.base}/healthz") as response,
    ):
        return response.status


async def test_slow_bodies_from_one_client_hold_a_bounded_number_of_connections(
    database_url: str, tmp_path: Path
) -> None:
    environment = {
        "THREADLOG_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        "THREADLOG_BODY_TIMEOUT_SECONDS": "2",
    }
    async with serve_process(database_url, tmp_path, **environment) as served:
        before = served.open_files()
        attackers: list[socket.socket] = []
        try:
            for _ in range(ATTACK):
                connection = served.connect()
                connection.sendall(SLOW_BODY)
                attackers.append(connection)
            held = served.open_files() - before
            # Another client is still served while the attacker holds its share.
            assert await healthz_from(served, "127.0.0.2") == 200
            responses = await asyncio.gather(
                *(asyncio.to_thread(response_of, c) for c in attackers)
            )
        finally:
            for connection in attackers:
                connection.close()
        log = served.log.read_text()
    # Its share, and the refusals still being said (each for a moment at most).
    assert held <= PER_CLIENT + REFUSING_AT_MOST + 2, held
    statuses = [status_of(response) for response in responses]
    # The first connections were served and timed out waiting for their bodies; the rest
    # were refused at once: answered 429, or cut while too many refusals were under way.
    assert statuses.count(408) == PER_CLIENT, statuses
    assert set(statuses) == {408, 429, 0}
    refused = [r for r in responses if status_of(r) == 429]
    assert problem_of(refused[0])["type"] == "/problems/too-many-connections"
    assert "Traceback" not in log


async def test_past_the_total_cap_a_new_client_is_answered_503(
    database_url: str, tmp_path: Path
) -> None:
    environment = {"THREADLOG_MAX_CONNECTIONS": "10", "THREADLOG_MAX_CONNECTIONS_PER_CLIENT": "10"}
    async with serve_process(database_url, tmp_path, **environment) as served:
        held = [served.connect() for _ in range(10)]
        try:
            for connection in held:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: threadlog\r\n\r\n")
                assert connection.recv(12) == b"HTTP/1.1 200"
            with served.connect("127.0.0.3") as latecomer:
                latecomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: threadlog\r\n\r\n")
                response = await asyncio.to_thread(response_of, latecomer)
        finally:
            for connection in held:
                connection.close()
        assert status_of(response) == 503
        assert problem_of(response)["status"] == 503
        # The held connections closed: the service takes new ones again.
        for _ in range(100):
            if served.open_files() <= 20:
                break
            await asyncio.sleep(0.05)
        assert await healthz_from(served, "127.0.0.3") == 200


async def test_headers_that_never_end_are_cut_off(database_url: str, tmp_path: Path) -> None:
    environment = {"THREADLOG_HEADER_TIMEOUT_SECONDS": "1"}
    async with serve_process(database_url, tmp_path, **environment) as served:
        connection = served.connect()
        try:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: threadlog\r\nX-Slow: ")
            # The server closes it without an answer; a client that never stops trickling
            # would otherwise hold it for ever.
            assert await asyncio.to_thread(response_of, connection) == b""
        finally:
            connection.close()
