"""Concurrent thread reads share stamp lookups, and every answer is as fresh as a lone one."""

import asyncio

import asyncpg
import pytest

from service.read import threads
from service.read.stamps import ThreadStamps
from tests.builders import Client, SiteKeys, comment, publish


async def test_concurrent_readers_share_lookups(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    posts = [await publish(client, site) for _ in range(5)]
    await comment(client, site, posts[0])
    lookups = 0
    real = threads.thread_stamps

    async def counted(connection: asyncpg.Pool, wanted: list[tuple[str, str]]) -> object:
        nonlocal lookups
        lookups += 1
        return await real(connection, wanted)

    monkeypatch.setattr(threads, "thread_stamps", counted)
    stamps = ThreadStamps(pool)
    keys = [(site.site, post_id) for post_id in posts * 20] + [(site.site, "missing")]
    found = await asyncio.gather(*(stamps.get(*key) for key in keys))
    assert lookups <= 2 < len(keys)
    assert found[-1] is None
    positions = {key: stamp.position for key, stamp in zip(keys, found, strict=False) if stamp}
    assert len(positions) == len(posts)
    expected = await real(pool, [(site.site, post_id) for post_id in posts])
    assert positions == {key: stamp.position for key, stamp in expected.items()}


async def test_a_reader_sees_a_write_that_committed_before_it_asked(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
) -> None:
    post_id = await publish(client, site)
    stamps = ThreadStamps(pool)
    before = await stamps.get(site.site, post_id)
    await comment(client, site, post_id)
    after = await stamps.get(site.site, post_id)
    assert before is not None and after is not None and after.position > before.position


async def test_concurrent_counts_share_lookups(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    posts = [await publish(client, site) for _ in range(4)]
    for post_id in posts[:2]:
        await comment(client, site, post_id)
    lookups = 0
    real = threads.thread_stamps

    async def counted(connection: asyncpg.Pool, wanted: list[tuple[str, str]]) -> object:
        nonlocal lookups
        lookups += 1
        return await real(connection, wanted)

    monkeypatch.setattr(threads, "thread_stamps", counted)
    stamps = ThreadStamps(pool)
    asked = [*posts, "missing"]
    found = await asyncio.gather(
        *(stamps.get_many([(site.site, post_id) for post_id in asked]) for _ in range(30))
    )
    assert lookups <= 2
    expected = {posts[0]: 1, posts[1]: 1, posts[2]: 0, posts[3]: 0, "missing": 0}
    for each in found:
        assert threads.counts_of(each, site.site, asked) == expected
