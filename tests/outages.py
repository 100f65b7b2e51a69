"""The app on a private PostgreSQL cluster, for tests that make the database fail, and what a
503 for a lost database looks like."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import ClientResponse

from service.settings import Settings
from tests.builders import Client, SiteKeys, make_site, publish, serving
from tests.clusters import Cluster, migrated_database
from tests.waiting import DEADLINE_SECONDS


@dataclass
class Private:
    """The app on a private cluster, with a site and a post."""

    cluster: Cluster
    url: str
    client: Client
    site: SiteKeys
    post_id: str

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, server_settings={"application_name": "test-admin"})


async def private_app(
    cluster: Cluster, database_settings: dict[str, str] | None = None, **changes: Any
) -> AsyncIterator[Private]:
    """The app on a new database of `cluster` with these settings (ALTER DATABASE ... SET)."""
    url = await migrated_database(cluster)
    setup = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        for name, value in (database_settings or {}).items():
            await setup.execute(f"ALTER DATABASE threadlog SET {name} = '{value}'")
        site = await make_site(setup)
    finally:
        await setup.close()
    settings = Settings(
        database_url=url,
        webhooks_dispatch=False,
        default_rate_limit_per_minute=0,
        pool_min_size=1,
        pool_max_size=4,
    )
    async with serving(settings, **changes) as client:
        post_id = await publish(client, site)
        yield Private(cluster, url, client, site, post_id)


async def assert_unavailable(response: ClientResponse) -> None:
    assert response.status == 503, await response.text()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    problem = await response.json()
    assert problem["type"].endswith("/problems/database-unavailable")
    assert problem["status"] == 503 and problem["instance"] == response.url.path


async def post_comment(private: Private, key: str | None = None) -> ClientResponse:
    return await private.client.post(
        f"/v1/sites/{private.site.site}/posts/{private.post_id}/comments",
        json={"author": {"name": "Ann"}, "body": "hello"},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


async def retried(send: Callable[[], Awaitable[ClientResponse]]) -> ClientResponse:
    """What a client does with a 503: the same request again shortly, until it is answered."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while (response := await send()).status == 503:
        await assert_unavailable(response)
        assert asyncio.get_running_loop().time() < deadline, "still 503"
        await asyncio.sleep(0.05)
    return response
