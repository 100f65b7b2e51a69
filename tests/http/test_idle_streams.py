"""Idle live streams cost the database nothing of their own (issue 11, rows 2 and 3): each key
holder's stream once read the log every 50 ms while idle (100 of them: some 1,600 transactions
a second) and each reader's stream looked every second. Now one shared tail per process reads
for all of them, so the transactions while they idle do not grow with their number; and every
stream still gets every event, in order, once."""

import asyncio
import contextlib
import json

import aiohttp
import asyncpg

from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, serving
from tests.http.test_stream import take
from tests.waiting import feed

KEYED = 40
READERS = 40
# PostgreSQL's backends report their counts when idle at most every ten seconds or so: a window
# starts and ends past that, so what it counts is what happened inside it.
STATISTICS_DELAY_SECONDS = 11.0
WINDOW_SECONDS = 10.0


async def transactions(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        """SELECT xact_commit + xact_rollback FROM pg_stat_database
           WHERE datname = current_database()"""
    )
    return count


async def test_idle_streams_make_no_queries_of_their_own(
    settings: Settings, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    async with (
        serving(settings, max_streams_per_client=KEYED + READERS) as client,
        contextlib.AsyncExitStack() as streams,
    ):
        post_id = await publish(client, site)
        await feed(client, site, 1)
        for _ in range(KEYED):
            path = "/v1/events/stream"
            response = await streams.enter_async_context(
                client.get(path, headers=site.auth("subscriber"))
            )
            assert response.status == 200
            await take(response, 1)  # caught up with the log: idle from now on
        for _ in range(READERS):
            path = f"/v1/sites/{site.site}/posts/{post_id}/comments/stream"
            response = await streams.enter_async_context(client.get(path))
            assert response.status == 200
            await take(response, 1)
        await asyncio.sleep(STATISTICS_DELAY_SECONDS)
        before = await transactions(pool)
        await asyncio.sleep(WINDOW_SECONDS)
        await asyncio.sleep(STATISTICS_DELAY_SECONDS)
        spent = await transactions(pool) - before
        print(f"{KEYED + READERS} idle streams: {spent} transactions in the window")
    # The tail's fallback reads (about one a second, in this app and the session's) and this
    # test's own queries; anything each stream did by itself, even once, would pass the
    # number of streams.
    assert spent < KEYED + READERS, spent


async def test_every_waiting_stream_gets_every_event_in_order_once(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    quiet_post = await publish(client, site)
    async with contextlib.AsyncExitStack() as streams:
        keyed: list[aiohttp.ClientResponse] = []
        readers: list[aiohttp.ClientResponse] = []
        for _ in range(10):
            response = await streams.enter_async_context(
                client.get("/v1/events/stream", headers=site.auth("subscriber"))
            )
            await take(response, 2)  # the two posts: caught up
            keyed.append(response)
        for _ in range(10):
            path = f"/v1/sites/{site.site}/posts/{post_id}/comments/stream"
            response = await streams.enter_async_context(client.get(path))
            await take(response, 1)
            readers.append(response)

        async def write(count: int) -> list[str]:
            return [(await comment(client, site, post_id))["id"] for _ in range(count)]

        written = [i for ids in await asyncio.gather(*(write(10) for _ in range(4))) for i in ids]
        await comment(client, site, quiet_post)
        got_keyed = await asyncio.gather(*(take(response, 41) for response in keyed))
        got_read = await asyncio.gather(*(take(response, 40) for response in readers))
    everything = (await feed(client, site, 43, limit=100))["events"][2:]
    cursors = [event["cursor"] for event in everything]
    for messages in got_keyed:
        assert [message["id"] for message in messages] == cursors
    for messages in got_read:
        ids = [json.loads(message["data"])["id"] for message in messages]
        assert sorted(ids) == sorted(written) and len(set(ids)) == 40
        versions = [int(message["id"]) for message in messages]
        assert versions == sorted(versions)
