"""Small helpers shared by the tests."""

import asyncio
import secrets
import signal
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import SiteKeys


def new_id(prefix: str = "post") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def publish(
    client: TestClient,  # type: ignore[type-arg]
    site: SiteKeys,
    post_id: str | None = None,
    **fields: Any,
) -> str:
    post_id = post_id or new_id()
    body = {"title": f"Title {post_id}", "url": f"https://blog.example/{post_id}", "labels": []}
    body |= fields
    response = await client.put(
        f"/v1/sites/{site.site}/posts/{post_id}", json=body, headers=site.auth("publisher")
    )
    assert response.status in (200, 201), await response.text()
    return post_id


async def comment(
    client: TestClient,  # type: ignore[type-arg]
    site: SiteKeys,
    post_id: str,
    body: str = "hello",
    parent_id: str | None = None,
    name: str = "Ann",
) -> dict[str, Any]:
    payload: dict[str, Any] = {"author": {"name": name}, "body": body}
    if parent_id:
        payload["parent_id"] = parent_id
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def thread(
    client: TestClient,  # type: ignore[type-arg]
    site: SiteKeys,
    post_id: str,
    **query: Any,
) -> dict[str, Any]:
    response = await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments", params=query)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def feed(
    client: TestClient,  # type: ignore[type-arg]
    site: SiteKeys,
    expected: int,
    **params: Any,
) -> dict[str, Any]:
    """The site's feed once it holds `expected` events.

    The feed shows an event only when every older transaction on the cluster has ended, so a
    transaction elsewhere (another test run, a backup) can delay it for a moment.
    """
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await client.get("/v1/events", params=params, headers=site.auth("subscriber"))
        assert response.status == 200, await response.text()
        page: dict[str, Any] = await response.json()
        if len(page["events"]) >= expected or asyncio.get_running_loop().time() > deadline:
            return page
        await asyncio.sleep(0.01)


DEADLINE_SECONDS = 30.0


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def stop(process: "subprocess.Popen[bytes]", how: signal.Signals) -> None:
    """Signal `process` if it still runs, and wait for it to end."""
    if process.poll() is None:
        process.send_signal(how)
    process.wait(timeout=DEADLINE_SECONDS)
