"""API keys over their life: listed, revoked (refused at once by every instance), and when
they were last used."""

import asyncpg

from service.access import credentials
from service.settings import Settings
from tests.builders import SiteKeys, serving


def key_id(key: str) -> str:
    return key.split("_")[1]


async def test_a_revoked_key_is_refused_at_once_by_every_instance(
    pool: asyncpg.Pool, settings: Settings, site: SiteKeys
) -> None:
    moderator = site.auth("moderator")
    # Two instances of the service on one database, each with its own pool and caches.
    async with serving(settings) as first, serving(settings) as second:
        for instance in (first, second):
            for _ in range(2):  # the second time, anything a process might have kept
                assert (await instance.get("/v1/webhooks", headers=moderator)).status == 200
        await credentials.revoke_key(pool, key_id(site.moderator))
        for instance in (first, second):
            response = await instance.get("/v1/webhooks", headers=moderator)
            assert response.status == 401, await response.text()
            assert "revoked" in (await response.json())["detail"]
        # The site's other keys still work.
        publisher = site.auth("publisher")
        response = await first.put(
            f"/v1/sites/{site.site}/posts/still-works",
            json={"title": "T", "url": "https://blog.example/x"},
            headers=publisher,
        )
        assert response.status == 201, await response.text()


async def test_last_used_is_written_at_most_once_a_minute_per_key(
    pool: asyncpg.Pool, settings: Settings, site: SiteKeys
) -> None:
    moderator_id = key_id(site.moderator)
    last_used = "SELECT last_used_at FROM api_keys WHERE key_id = $1"
    assert await pool.fetchval(last_used, moderator_id) is None
    async with serving(settings) as client:
        assert (await client.get("/v1/webhooks", headers=site.auth("moderator"))).status == 200
        assert await pool.fetchval(last_used, moderator_id) is not None
        # Forget it: a use within the minute does not write it again.
        await pool.execute(
            "UPDATE api_keys SET last_used_at = NULL WHERE key_id = $1", moderator_id
        )
        for _ in range(3):
            assert (await client.get("/v1/webhooks", headers=site.auth("moderator"))).status == 200
        assert await pool.fetchval(last_used, moderator_id) is None
    listed = {key.key_id: key for key in await credentials.list_keys(pool, site.site)}
    assert set(listed) == {key_id(k) for k in (site.publisher, site.moderator, site.subscriber)}
    assert all(key.revoked_at is None for key in listed.values())


async def test_a_key_use_records_once_per_interval(pool: asyncpg.Pool, site: SiteKeys) -> None:
    use = credentials.KeyUse(every_seconds=0)
    subscriber_id = key_id(site.subscriber)
    await use.record(pool, subscriber_id)
    first = await pool.fetchval(
        "SELECT last_used_at FROM api_keys WHERE key_id = $1", subscriber_id
    )
    assert first is not None
    throttled = credentials.KeyUse()
    await pool.execute("UPDATE api_keys SET last_used_at = NULL WHERE key_id = $1", subscriber_id)
    await throttled.record(pool, subscriber_id)
    await throttled.record(pool, subscriber_id)
    await pool.execute("UPDATE api_keys SET last_used_at = NULL WHERE key_id = $1", subscriber_id)
    await throttled.record(pool, subscriber_id)
    assert (
        await pool.fetchval("SELECT last_used_at FROM api_keys WHERE key_id = $1", subscriber_id)
        is None
    )
