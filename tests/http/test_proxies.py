"""Behind a proxy: with THREADLOG_TRUSTED_PROXIES, the client named by the trusted proxy's
header is the one that rate limits and bans count, and an IPv6 client counts by its /64;
without it (or from a peer that is not trusted) forwarding headers change nothing; malformed
headers are never a 500. The test client's connections come from 127.0.0.1."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service.settings import Settings
from tests.builders import Client, SiteKeys, make_site, publish, serving, set_settings


@pytest.fixture
async def behind_proxy(settings: Settings) -> AsyncIterator[Client]:
    async with serving(settings, trusted_proxies=("127.0.0.1/32", "10.0.0.0/8")) as served:
        yield served


@pytest.fixture
async def behind_forwarded(settings: Settings) -> AsyncIterator[Client]:
    async with serving(
        settings, trusted_proxies=("127.0.0.0/8",), forwarded_header="forwarded"
    ) as served:
        yield served


async def post(
    client: Client, site: SiteKeys, post_id: str, forwarded_for: str | None, **extra: Any
) -> Any:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    headers |= extra.pop("headers", {})
    body = {"author": {"name": extra.pop("name", "Ann")}, "body": "hello"} | extra
    return await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments", json=body, headers=headers
    )


async def ban_ip(client: Client, site: SiteKeys, comment_id: str) -> None:
    response = await client.post(
        f"/v1/sites/{site.site}/bans",
        json={"comment_id": comment_id, "match": "ip"},
        headers=site.auth("moderator"),
    )
    assert response.status == 201, await response.text()


async def test_a_ban_by_ip_behind_a_trusted_proxy_bans_that_client_only(
    behind_proxy: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    post_id = await publish(behind_proxy, site)
    troll = await post(behind_proxy, site, post_id, "203.0.113.9")
    assert troll.status == 201
    await ban_ip(behind_proxy, site, (await troll.json())["id"])
    # The troll again, through one more trusted proxy, and with a forged hop on the left.
    for forwarded in ("203.0.113.9", "203.0.113.9, 10.1.2.3", "198.51.100.1, 203.0.113.9"):
        again = await post(behind_proxy, site, post_id, forwarded)
        assert again.status == 403, forwarded
    # Another reader behind the same proxy is not banned with them.
    assert (await post(behind_proxy, site, post_id, "203.0.113.10")).status == 201


async def test_an_ipv6_client_is_banned_by_its_64(behind_proxy: Client, pool: asyncpg.Pool) -> None:
    site = await make_site(pool)
    post_id = await publish(behind_proxy, site)
    troll = await post(behind_proxy, site, post_id, "2001:db8:1:2::1")
    await ban_ip(behind_proxy, site, (await troll.json())["id"])
    assert (await post(behind_proxy, site, post_id, "2001:db8:1:2:9::77")).status == 403
    assert (await post(behind_proxy, site, post_id, "[2001:db8:1:2::5]:443")).status == 403
    assert (await post(behind_proxy, site, post_id, "2001:db8:1:3::1")).status == 201


async def test_forwarding_headers_from_an_untrusted_peer_change_nothing(
    client: Client, site: SiteKeys
) -> None:
    # `client` trusts no proxy: every request is 127.0.0.1, whatever it claims.
    post_id = await publish(client, site)
    first = await post(client, site, post_id, "203.0.113.9")
    await ban_ip(client, site, (await first.json())["id"])
    for forwarded in ("198.51.100.1", "2001:db8::1", None):
        assert (await post(client, site, post_id, forwarded)).status == 403
    spoofed = await post(client, site, post_id, None, headers={"Forwarded": "for=192.0.2.1"})
    assert spoofed.status == 403


async def test_readers_behind_one_proxy_have_their_own_rate_limits(
    behind_proxy: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    post_id = await publish(behind_proxy, site)
    await set_settings(behind_proxy, site, rate_limit_per_minute=1)
    # A fixed one-minute window: should it turn between two posts, the next one is limited.
    statuses = [(await post(behind_proxy, site, post_id, "203.0.113.9")).status for _ in range(3)]
    assert 429 in statuses
    assert (await post(behind_proxy, site, post_id, "203.0.113.10")).status == 201
    assert (await post(behind_proxy, site, post_id, "2001:db8:5::1")).status == 201


async def test_the_forwarded_header_when_configured(
    behind_forwarded: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    post_id = await publish(behind_forwarded, site)
    troll = await post(
        behind_forwarded, site, post_id, None, headers={"Forwarded": 'for="[2001:db8:7::1]:80"'}
    )
    await ban_ip(behind_forwarded, site, (await troll.json())["id"])
    # X-Forwarded-For is not the configured header: a client cannot escape with it.
    again = await post(
        behind_forwarded,
        site,
        post_id,
        "198.51.100.1",
        headers={"Forwarded": "for=198.51.100.1, for=2001:db8:7::2;proto=https"},
    )
    assert again.status == 403
    other = await post(
        behind_forwarded, site, post_id, None, headers={"Forwarded": "for=192.0.2.9"}
    )
    assert other.status == 201


@pytest.mark.parametrize(
    "headers",
    [
        {"Forwarded": 'for="'},
        {"Forwarded": "for=[::1"},
        {"Forwarded": ";;;,,,===;for"},
        {"Forwarded": "for=unknown"},
        {"Forwarded": "for=" + "9" * 4000},
        {"X-Forwarded-For": "not an address"},
        {"X-Forwarded-For": ",,,"},
        {"X-Forwarded-For": "1.2.3.4:notaport"},
        {"X-Forwarded-For": "[fe80::1%25eth0]"},
        {"X-Forwarded-For": ", ".join(["10.0.0.1"] * 500)},
    ],
)
async def test_malformed_forwarding_headers_are_never_a_500(
    behind_proxy: Client, behind_forwarded: Client, pool: asyncpg.Pool, headers: dict[str, str]
) -> None:
    site = await make_site(pool)
    for client in (behind_proxy, behind_forwarded):
        post_id = await publish(client, site)
        response = await post(client, site, post_id, None, headers=headers)
        assert response.status == 201, await response.text()
        report = await client.post(
            f"/v1/sites/{site.site}/comments/{(await response.json())['id']}/reports",
            json={"reason": "spam"},
            headers=headers,
        )
        assert report.status == 202
