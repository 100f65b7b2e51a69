"""Concurrent thread reads share stamp lookups, and every answer is as fresh as a lone one."""

import asyncio

import asyncpg
import pytest

from service.keys import STAMPS
from service.read import threads
from service.read.stamps import ThreadStamps
from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, serving
from tests.waiting import wait_until


class Lookups:
    """How many stamp lookups reached the database, and the real lookup."""

    count = 0
    real = staticmethod(threads.thread_stamps)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    counted_lookups = Lookups()
    real = threads.thread_stamps

    async def counted(connection: asyncpg.Pool, wanted: list[tuple[str, str]]) -> object:
        counted_lookups.count += 1
        return await real(connection, wanted)

    monkeypatch.setattr(threads, "thread_stamps", counted)
    return counted_lookups


async def test_concurrent_readers_share_lookups(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    lookups: Lookups,
) -> None:
    posts = [await publish(client, site) for _ in range(5)]
    await comment(client, site, posts[0])
    stamps = ThreadStamps(pool)
    keys = [(site.site, post_id) for post_id in posts * 20] + [(site.site, "missing")]
    found = await asyncio.gather(*(stamps.get(*key) for key in keys))
    assert lookups.count <= 2 < len(keys)
    assert found[-1] is None
    positions = {key: stamp.position for key, stamp in zip(keys, found, strict=False) if stamp}
    assert len(positions) == len(posts)
    expected = await lookups.real(pool, [(site.site, post_id) for post_id in posts])
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
    lookups: Lookups,
) -> None:
    posts = [await publish(client, site) for _ in range(4)]
    for post_id in posts[:2]:
        await comment(client, site, post_id)
    stamps = ThreadStamps(pool)
    asked = [*posts, "missing"]
    found = await asyncio.gather(
        *(stamps.get_many([(site.site, post_id) for post_id in asked]) for _ in range(30))
    )
    assert lookups.count <= 2
    expected = {posts[0]: 1, posts[1]: 1, posts[2]: 0, posts[3]: 0, "missing": 0}
    for each in found:
        assert threads.counts_of(each, site.site, asked) == expected


class Hints:
    def __init__(self) -> None:
        self.generation = 0
        self.connected = True

    def listening(self) -> bool:
        return self.connected


async def test_stamps_are_kept_while_no_write_is_heard_of(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    lookups: Lookups,
) -> None:
    post_id = await publish(client, site)
    hints = Hints()
    stamps = ThreadStamps(pool, hints, seconds=60)
    key = (site.site, post_id)
    before = await stamps.get(*key)
    assert await stamps.get_many([key, (site.site, "missing")]) == {key: before}
    assert await stamps.get_many([key, (site.site, "missing")]) == {key: before}
    assert await stamps.get(site.site, "missing") is None
    assert lookups.count == 2  # the post, then the missing one: both kept since
    await comment(client, site, post_id)
    assert await stamps.get(*key) == before  # nothing heard yet
    hints.generation += 1  # this process's writers, or another's NOTIFY
    after = await stamps.get(*key)
    assert before is not None and after is not None and after.position > before.position
    assert lookups.count == 3
    hints.connected = False  # a NOTIFY could be missed: look up every time
    await stamps.get(*key)
    await stamps.get(*key)
    assert lookups.count == 5


async def test_kept_stamps_expire(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
) -> None:
    post_id = await publish(client, site)
    stamps = ThreadStamps(pool, Hints(), seconds=0.05)
    before = await stamps.get(site.site, post_id)
    # Written without a word to this process (as by SQL by hand): seen once the time is up.
    await comment(client, site, post_id)
    await asyncio.sleep(0.06)
    after = await stamps.get(site.site, post_id)
    assert before is not None and after is not None and after.position > before.position


async def test_an_answer_asked_before_a_write_is_not_kept(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_id = await publish(client, site)
    hints = Hints()
    real = threads.thread_stamps

    async def write_meanwhile(connection: asyncpg.Pool, wanted: list[tuple[str, str]]) -> object:
        found = await real(connection, wanted)
        hints.generation += 1  # heard of a write while the answer was on its way
        return found

    monkeypatch.setattr(threads, "thread_stamps", write_meanwhile)
    stamps = ThreadStamps(pool, hints, seconds=60)
    await stamps.get(site.site, post_id)
    assert stamps.kept_stamps([(site.site, post_id)]) is None


async def test_another_instances_write_shows_once_its_notify_arrives(
    client: Client, site: SiteKeys, settings: Settings
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    # B keeps stamps for a minute: only the NOTIFY of A's commit can tell it of the comment.
    async with serving(settings, stamp_seconds=60) as other:
        first = await other.get(path)
        assert first.status == 200 and (await first.json())["total"] == 0
        await comment(client, site, post_id)

        async def shown() -> bool:
            answer = await other.get(path)
            return bool((await answer.json())["total"] == 1)

        await wait_until(shown, "the other instance to show the comment")


async def test_a_current_stamp_is_never_a_kept_one(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    stamps = ThreadStamps(pool, Hints(), seconds=60)
    before = await stamps.get(site.site, post_id)
    # A live stream woken by the log, before any hint of the write reached the process.
    await comment(client, site, post_id)
    assert await stamps.get(site.site, post_id) == before
    current = await stamps.get_current(site.site, post_id)
    assert before is not None and current is not None and current.position > before.position


async def test_a_reader_passing_its_writes_position_is_never_answered_from_kept_stamps(
    client: Client, site: SiteKeys, settings: Settings, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    counts = f"/v1/sites/{site.site}/counts?post={post_id}"
    async with serving(settings, stamp_seconds=60) as other:
        # B hears of nothing: as if A's NOTIFY were still on its way.
        other.app[STAMPS].hints = Hints()
        assert (await (await other.get(path)).json())["total"] == 0
        assert (await (await other.get(counts)).json())["counts"][post_id] == 0
        await comment(client, site, post_id)  # through A
        # What A's answer says with a replica configured (test_replica.py): its WAL position.
        position = await pool.fetchval("SELECT pg_current_wal_lsn()::text")
        assert (await (await other.get(path)).json())["total"] == 0  # kept, nothing heard
        mine = {"Threadlog-Position": position}
        assert (await (await other.get(path, headers=mine)).json())["total"] == 1
        answer = await other.get(f"{counts}&position={position}")
        assert (await answer.json())["counts"][post_id] == 1
        # What those fresh lookups learned is kept: B's other readers see the comment too.
        assert (await (await other.get(counts)).json())["counts"][post_id] == 1
