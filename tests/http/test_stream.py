"""The live event stream, read by a real HTTP client."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, serving
from tests.waiting import feed


async def messages(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, str]]:
    """Server-Sent Events as dicts of their fields; a comment line comes as {"comment": ...}."""
    message: dict[str, str] = {}
    while line := await response.content.readline():
        text = line.decode().rstrip("\n")
        if text.startswith(":"):
            yield {"comment": text[1:].strip()}
        elif text:
            field, _, value = text.partition(":")
            message[field] = value.removeprefix(" ")
        elif message:
            yield message
            message = {}


async def take(response: aiohttp.ClientResponse, count: int) -> list[dict[str, str]]:
    taken: list[dict[str, str]] = []
    async with asyncio.timeout(60):
        async for message in messages(response):
            if "id" in message:
                taken.append(message)
            if len(taken) == count:
                break
    return taken


async def test_events_arrive_live_with_their_cursor_as_id(client: Client, site: SiteKeys) -> None:
    async with client.get("/v1/events/stream", headers=site.auth("subscriber")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        post_id = await publish(client, site)
        made = await comment(client, site, post_id)
        received = await take(response, 2)
    assert [message["event"] for message in received] == ["post.published", "comment.posted"]
    cloud = json.loads(received[1]["data"])
    assert cloud["data"]["comment_id"] == made["id"] and cloud["specversion"] == "1.0"
    listed = (await feed(client, site, 2))["events"]
    assert [message["id"] for message in received] == [event["cursor"] for event in listed]
    assert cloud == listed[1]


async def test_a_reconnect_with_last_event_id_sees_every_event_once(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)

    async def write(count: int) -> None:
        for _ in range(count):
            await comment(client, site, post_id)

    writers = asyncio.gather(*(write(20) for _ in range(4)))
    async with client.get("/v1/events/stream", headers=site.auth("subscriber")) as first:
        before = await take(first, 25)
    headers = site.auth("subscriber") | {"Last-Event-ID": before[-1]["id"]}
    async with client.get("/v1/events/stream", headers=headers) as second:
        after = await take(second, 81 - len(before))
    await writers
    received = [message["id"] for message in before + after]
    everything = [event["cursor"] for event in (await feed(client, site, 81, limit=1000))["events"]]
    assert len(everything) == 81
    assert received == everything


async def test_types_filter_the_stream(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    made = await comment(client, site, post_id)
    path = f"/v1/sites/{site.site}/comments/{made['id']}"
    await client.delete(path, headers=site.auth("moderator"))
    path = "/v1/events/stream?types=comment.deleted,post.deleted"
    async with client.get(path, headers=site.auth("subscriber")) as response:
        [message] = await take(response, 1)
    assert message["event"] == "comment.deleted"


async def test_an_idle_stream_sends_heartbeats(settings: Settings, site: SiteKeys) -> None:
    async with serving(settings, stream_heartbeat_seconds=0.1) as own:
        headers = site.auth("subscriber") | {"Last-Event-ID": "9223372036854775806-1"}
        async with own.get("/v1/events/stream", headers=headers) as response:
            async with asyncio.timeout(30):
                async for message in messages(response):
                    assert message == {"comment": "heartbeat"}
                    break


@pytest.mark.parametrize(
    ("role", "query", "headers", "status"),
    [
        (None, "", {}, 401),
        ("publisher", "", {}, 403),
        ("subscriber", "?after=nonsense", {}, 400),
        ("subscriber", "", {"Last-Event-ID": "1-x"}, 400),
        ("subscriber", "?types=comment.exploded", {}, 400),
    ],
    ids=["no-key", "publisher", "bad-after", "bad-last-event-id", "unknown-type"],
)
async def test_refusals(
    client: Client,
    site: SiteKeys,
    role: str | None,
    query: str,
    headers: dict[str, str],
    status: int,
) -> None:
    sent: dict[str, Any] = (site.auth(role) if role else {}) | headers
    response = await client.get(f"/v1/events/stream{query}", headers=sent)
    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"


def served_peers(server: TestServer) -> set[object]:
    return {
        handler.transport.get_extra_info("peername")
        for handler in server.handler.connections
        if handler.transport is not None
    }


async def test_a_client_that_stops_reading_is_dropped_not_buffered_for(
    settings: Settings, site: SiteKeys
) -> None:
    async with serving(settings, stream_write_timeout_seconds=0.5) as own:
        post_id = await publish(own, site)
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect((own.host, own.port))
        request = (
            "GET /v1/events/stream HTTP/1.1\r\nHost: threadlog\r\n"
            f"Authorization: Bearer {site.subscriber}\r\n\r\n"
        )
        reader.sendall(request.encode())
        written = 0
        for _ in range(1000):
            if reader.getsockname() in served_peers(own.server):
                break
            await asyncio.sleep(0.01)
        try:
            # Each comment is a ~25 KB message; the kernel buffers some MB on loopback.
            while reader.getsockname() in served_peers(own.server):
                assert written < 2000, "the stream kept a client that reads nothing"
                bodies = [f"{n} " + "long words " * 900 for n in range(10)]
                await asyncio.gather(*(comment(own, site, post_id, body=b) for b in bodies))
                written += len(bodies)
                await asyncio.sleep(0.05)
        finally:
            reader.close()
        # The service goes on serving everyone else.
        assert (await own.get("/healthz")).status == 200
    assert written >= 10
