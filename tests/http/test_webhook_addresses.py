"""Webhook addresses: IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
NAT64, 6to4, Teredo) are judged by that address; a site has a bounded number of webhooks."""

import ipaddress
from collections.abc import AsyncIterator

import asyncpg
import pytest

from service.settings import Settings
from service.subscriptions.targets import embedded_ipv4, refusal
from tests.builders import Client, make_site, register_webhook, serving

PUBLIC = "https://93.184.215.14/hook"


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[Client]:
    async with serving(settings, webhooks_allow_private=False) as served:
        yield served


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254, the metadata service
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[64:ff9b:1::a9fe:a9fe]",  # NAT64 local-use prefix
        "[64:ff9b:1:a9fe:a9:fe00::]",  # the same, with a /48 prefix
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
        "[::127.0.0.1]",  # IPv4-compatible
        "[::a9fe:a9fe]",
        "[::ffff:a9fe:a9fe]",  # IPv4-mapped, hex form
        "[2001:0:4136:e378:8000:63bf:80ff:fefe]",  # Teredo, client 127.0.1.1
    ],
)
async def test_ipv6_forms_of_inner_addresses_are_refused(
    strict_client: Client, pool: asyncpg.Pool, host: str
) -> None:
    site = await make_site(pool)
    response = await strict_client.post(
        "/v1/webhooks", json={"url": f"http://{host}/hook"}, headers=site.auth("moderator")
    )
    assert response.status == 422, await response.text()
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("host", ["[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]", "[::a9fe:a9fe]"])
async def test_metadata_inside_ipv6_is_refused_even_where_private_is_allowed(
    client: Client, pool: asyncpg.Pool, host: str
) -> None:
    site = await make_site(pool)
    response = await client.post(
        "/v1/webhooks", json={"url": f"http://{host}/"}, headers=site.auth("moderator")
    )
    assert response.status == 422, await response.text()
    assert "169.254.169.254" in (await response.json())["detail"]


@pytest.mark.parametrize(
    "host", ["[64:ff9b::5db8:d70e]", "[2002:5db8:d70e::1]", "[::ffff:93.184.215.14]"]
)
async def test_the_same_forms_of_a_public_address_are_accepted(
    strict_client: Client, pool: asyncpg.Pool, host: str
) -> None:
    site = await make_site(pool)
    await register_webhook(strict_client, site, f"https://{host}/hook")


def test_the_inner_address_is_found() -> None:
    def inner(text: str) -> list[str]:
        return [str(found) for found in embedded_ipv4(ipaddress.IPv6Address(text))]

    assert inner("64:ff9b::a9fe:a9fe") == ["169.254.169.254"]
    assert inner("2002:7f00:1::") == ["127.0.0.1"]
    assert inner("::127.0.0.1") == ["127.0.0.1"]
    assert inner("::ffff:10.0.0.1") == ["10.0.0.1"]
    assert inner("2001:0:4136:e378:8000:63bf:3fff:fdd2") == ["65.54.227.120", "192.0.2.45"]
    assert inner("2606:4700::1111") == [] and inner("::1") == [] and inner("::") == []
    assert refusal(ipaddress.IPv6Address("::1"), True) is None


async def test_a_site_has_at_most_the_configured_number_of_webhooks(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    site, other = await make_site(pool), await make_site(pool)
    async with serving(settings, max_webhooks_per_site=2) as client:
        first = await register_webhook(client, site, PUBLIC)
        await register_webhook(client, site, PUBLIC)
        refused = await client.post(
            "/v1/webhooks", json={"url": PUBLIC}, headers=site.auth("moderator")
        )
        assert refused.status == 409, await refused.text()
        assert refused.content_type == "application/problem+json"
        problem = await refused.json()
        assert problem["type"].endswith("/problems/too-many-webhooks")
        assert "THREADLOG_MAX_WEBHOOKS_PER_SITE" in problem["detail"]
        # Another site counts its own; a deleted webhook makes room.
        await register_webhook(client, other, PUBLIC)
        deleted = await client.delete(f"/v1/webhooks/{first['id']}", headers=site.auth("moderator"))
        assert deleted.status == 204
        await register_webhook(client, site, PUBLIC)
        listed = await client.get("/v1/webhooks", headers=site.auth("moderator"))
        assert len((await listed.json())["webhooks"]) == 2
