"""Idempotency-Keys belong to the client that sent them: the README's example key and body sent
by a second client make a comment of its own, and only the first client's retry gets the first
answer (and its delete token) back. Clients are told apart through a trusted proxy's
X-Forwarded-For, as they are in a deployment."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service.settings import Settings
from tests.builders import Client, json_body, make_site, publish, serving, thread

README_BODY = {
    "author": {"name": "Ann", "website": "https://ann.example"},
    "body": "First! *Nice* post.",
}


@pytest.fixture
async def behind_proxy(settings: Settings) -> AsyncIterator[Client]:
    async with serving(settings, trusted_proxies=("127.0.0.1/32",)) as served:
        yield served


async def send(client: Client, path: str, address: str, body: dict[str, Any] = README_BODY) -> Any:
    headers = {"Idempotency-Key": "5f0c1d2e", "X-Forwarded-For": address}
    return await client.post(path, json=body, headers=headers)


async def test_another_client_with_the_same_key_makes_its_own_comment(
    behind_proxy: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    post_id = await publish(behind_proxy, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    first_response = await send(behind_proxy, path, "203.0.113.1")
    first = await json_body(first_response, 201)

    second_response = await send(behind_proxy, path, "198.51.100.7")
    second = await json_body(second_response, 201)
    assert "Idempotent-Replayed" not in second_response.headers
    assert second["id"] != first["id"]
    assert second["delete_token"] != first["delete_token"]
    # The second client's token does not delete the first client's comment.
    refused = await behind_proxy.delete(
        f"/v1/sites/{site.site}/comments/{first['id']}",
        headers={"X-Delete-Token": second["delete_token"]},
    )
    assert refused.status == 403

    # The first client's retry is still answered from its own first request.
    retry_response = await send(behind_proxy, path, "203.0.113.1")
    assert retry_response.headers["Idempotent-Replayed"] == "true"
    assert await json_body(retry_response, 201) == first
    # ... and a different body under its key is still refused.
    changed = await send(behind_proxy, path, "203.0.113.1", README_BODY | {"body": "other"})
    assert changed.status == 422
    assert (await changed.json())["type"].endswith("/problems/idempotency-key-reused")
    ids = {c["id"] for c in (await thread(behind_proxy, site, post_id))["comments"]}
    assert ids == {first["id"], second["id"]}


async def test_the_same_key_on_another_post_or_site_is_another_request(
    behind_proxy: Client, pool: asyncpg.Pool
) -> None:
    site, other = await make_site(pool), await make_site(pool)
    post_id = await publish(behind_proxy, site)
    other_post = await publish(behind_proxy, other, post_id)
    first = await json_body(
        await send(behind_proxy, f"/v1/sites/{site.site}/posts/{post_id}/comments", "192.0.2.1"),
        201,
    )
    elsewhere = await send(
        behind_proxy, f"/v1/sites/{other.site}/posts/{other_post}/comments", "192.0.2.1"
    )
    assert "Idempotent-Replayed" not in elsewhere.headers
    assert (await json_body(elsewhere, 201))["id"] != first["id"]
