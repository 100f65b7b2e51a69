"""`threadlog serve` as a real subprocess on the test database, for what only the real server
does (the connection gate, the timeouts, its log), and the counters tests read from it: its
open files, its CPU time, its log."""

import asyncio
import contextlib
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.builders import THREADLOG
from tests.clusters import free_port
from tests.waiting import DEADLINE_SECONDS


@dataclass
class Served:
    process: "subprocess.Popen[bytes]"
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def cpu_ticks(self) -> int:
        """User plus system CPU time the process has used, in clock ticks."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        """A raw connection from `source` (any 127.x.y.z is another client on loopback)."""
        connection = socket.socket()
        connection.bind((source, 0))
        connection.settimeout(DEADLINE_SECONDS)
        connection.connect(("127.0.0.1", self.port))
        return connection


@contextlib.asynccontextmanager
async def serve_process(
    database_url: str, tmp_path: Path, **environment: str
) -> AsyncIterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    settings = {
        "DATABASE_URL": database_url,
        "THREADLOG_PORT": str(port),
        "THREADLOG_DEFAULT_RATE_LIMIT_PER_MINUTE": "0",
        "THREADLOG_WEBHOOKS_DISPATCH": "false",
    }
    process = start(os.environ | settings | environment, log)
    try:
        served = Served(process, port, log)
        await until_ready(served)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start(environment: dict[str, str], log: Path) -> "subprocess.Popen[bytes]":
    with log.open("wb") as output:
        return subprocess.Popen(
            [THREADLOG, "serve"], env=environment, stdout=output, stderr=subprocess.STDOUT
        )


async def until_ready(served: Served) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    async with aiohttp.ClientSession() as session:
        while True:
            assert served.process.poll() is None, served.log.read_text()
            assert time.monotonic() < deadline, "serve never became ready"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{served.base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


def response_of(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (blocking; use a thread);
    nothing when it cuts the connection."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        return b""
    return received
