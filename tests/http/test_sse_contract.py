"""The two live streams as openapi.yaml describes them: the frames match `EventStream`'s
pattern, and every message's data its response's `x-sse-data` schema (checked with a JSON
Schema validator, refs resolved in the spec itself)."""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema_rs
import yaml

from tests.builders import Client, SiteKeys, comment, publish

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
STREAMS = {
    "get_event_stream": "/v1/events/stream",
    "get_comment_stream": "/v1/sites/{site}/posts/{post}/comments/stream",
}


def stream_content(path: str) -> dict[str, Any]:
    content: dict[str, Any] = SPEC["paths"][path]["get"]["responses"]["200"]["content"]
    return content["text/event-stream"]


def validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for(schema | {"components": SPEC["components"]})


FRAMES = re.compile(SPEC["components"]["schemas"]["EventStream"]["pattern"])


async def frames(response: aiohttp.ClientResponse, messages: int) -> str:
    """The raw stream up to the end of its `messages`-th message with an id."""
    text, seen = "", 0
    async with asyncio.timeout(60):
        while seen < messages:
            line = (await response.content.readline()).decode()
            text += line
            seen += line.startswith("id:")
    while not text.endswith("\n\n"):
        text += (await response.content.readline()).decode()
    return text


def data_of(text: str) -> list[Any]:
    return [
        json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data:")
    ]


def test_both_streams_refer_to_the_frames_and_their_data() -> None:
    for operation, path in STREAMS.items():
        content = stream_content(path)
        assert SPEC["paths"][path]["get"]["operationId"] == operation
        assert content["schema"] == {"$ref": "#/components/schemas/EventStream"}
        validator(content["x-sse-data"])  # it resolves


async def test_the_event_stream_is_as_documented(client: Client, site: SiteKeys) -> None:
    check = validator(stream_content(STREAMS["get_event_stream"])["x-sse-data"])
    async with client.get("/v1/events/stream", headers=site.auth("subscriber")) as response:
        post_id = await publish(client, site)
        await comment(client, site, post_id)
        text = await frames(response, 2)
    assert FRAMES.fullmatch(text), text
    for data in data_of(text):
        check.validate(data)


async def test_the_comment_stream_is_as_documented(client: Client, site: SiteKeys) -> None:
    check = validator(stream_content(STREAMS["get_comment_stream"])["x-sse-data"])
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments/stream"
    async with client.get(path) as response:
        first = await comment(client, site, post_id)
        await comment(client, site, post_id, "a reply", parent_id=first["id"])
        text = await frames(response, 3)
    assert FRAMES.fullmatch(text), text
    found = data_of(text)
    assert found[0] == {} and len(found) == 3
    for data in found:
        check.validate(data)
    assert not jsonschema_rs.is_valid(
        stream_content(STREAMS["get_comment_stream"])["x-sse-data"]
        | {"components": SPEC["components"]},
        {"id": "x"},
    )  # the check can fail
