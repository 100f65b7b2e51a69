"""Three `threadlog serve` processes on loopback, one database, and a client that spreads its
requests over them: they serve as one. Comments written through all three appear once each in
the feed, in commit order; a reader's live stream on A sees a comment posted on C; changing a
site on one instance applies on the others at once, and a revoked key is refused everywhere;
killing (-9) the instance that holds the webhook dispatcher's lock and the NATS relay's, another
takes both over, and every event reaches the webhook and the stream.

A database of its own: its webhook and relay see only this test's events."""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from service.access.sites import CACHE_SECONDS
from service.ops import migrate
from service.subscriptions.nats_relay import checkpoint_name
from tests.builders import comment, json_body, make_site, publish, register_webhook, threadlog
from tests.jetstream import Target, site_messages
from tests.receivers import receiving
from tests.serving_process import Served, serve_process
from tests.waiting import advisory_holders, site_events, wait_until

# Takeover: the relay retries its lock every second, a dispatcher looks every second.
TAKEOVER_SECONDS = 5.0


class Spread:
    """A client of every instance, taking them in turn."""

    def __init__(self, sessions: list[aiohttp.ClientSession]) -> None:
        self.sessions = sessions
        self.turns = itertools.cycle(sessions)

    def next(self) -> aiohttp.ClientSession:
        return next(self.turns)


@contextlib.asynccontextmanager
async def sessions(*served: Served) -> AsyncIterator[list[aiohttp.ClientSession]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(aiohttp.ClientSession(instance.base))
            for instance in served
        ]


async def follow(session: aiohttp.ClientSession, path: str, seen: list[str]) -> None:
    """Collect the comment ids a reader's live stream sends."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with session.get(path, timeout=timeout) as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data: {") and b'"id"' in line:
                seen.append(json.loads(line[6:])["id"])


async def holders_elsewhere(pool: asyncpg.Pool, name: str, before: list[int]) -> None:
    async def taken() -> bool:
        return (await advisory_holders(pool, name)) not in ([], before)

    await wait_until(taken, f"another instance to take {name}")


async def test_three_instances_serve_as_one(
    empty_database: str, target: Target, tmp_path: Path
) -> None:
    url = empty_database
    await asyncio.to_thread(migrate.upgrade, url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    assert pool is not None
    site = await make_site(pool)
    relay_lock = checkpoint_name(target.stream)
    environment = {
        "THREADLOG_WEBHOOKS_DISPATCH": "true",
        "THREADLOG_WEBHOOKS_ALLOW_PRIVATE": "true",
        "THREADLOG_NATS_URL": target.url,
        "THREADLOG_NATS_STREAM": target.stream,
        "THREADLOG_NATS_SUBJECT_PREFIX": target.prefix,
    }
    for name in "abc":
        (tmp_path / name).mkdir()
    try:
        async with (
            receiving() as receiver,
            serve_process(url, tmp_path / "a", **environment) as a,
            sessions(a) as (on_a,),
        ):
            # A alone first: its dispatcher takes the webhook, its relay the stream.
            hook = await register_webhook(on_a, site, receiver.url, after="0-0")
            hook_lock = f"webhook:{hook['id']}"
            post_id = await publish(on_a, site)

            async def a_holds_both() -> bool:
                return bool(
                    await advisory_holders(pool, hook_lock)
                    and await advisory_holders(pool, relay_lock)
                )

            await wait_until(a_holds_both, "A to hold the webhook's and the relay's locks")
            async with (
                serve_process(url, tmp_path / "b", **environment) as b,
                serve_process(url, tmp_path / "c", **environment) as c,
                sessions(a, b, c) as (on_a, on_b, on_c),
            ):
                spread = Spread([on_a, on_b, on_c])
                await check_writes_and_live_streams(spread, site, post_id, pool)
                await check_site_changes_and_revocations(spread, site, post_id, url)
                held = await advisory_holders(pool, hook_lock) + await advisory_holders(
                    pool, relay_lock
                )

                # Kill A while B and C take comments.
                a.process.kill()
                killed_at = time.monotonic()
                for number in range(12):
                    await comment(spread.sessions[1 + number % 2], site, post_id, f"after {number}")
                await holders_elsewhere(pool, hook_lock, held)
                await holders_elsewhere(pool, relay_lock, held)
                assert time.monotonic() - killed_at < TAKEOVER_SECONDS
                for number in range(6):
                    await comment(spread.sessions[1 + number % 2], site, post_id, f"later {number}")

                # Every write was answered, so committed: the log holds them all once settled.
                total = await pool.fetchval(
                    "SELECT count(*) FROM events WHERE site = $1", site.site
                )
                events = await site_events(pool, site.site, total)
                event_ids = [str(recorded.event_id) for recorded in events]

                async def all_delivered() -> bool:
                    return set(receiver.accepted_ids()) >= set(event_ids)

                await wait_until(all_delivered, "every event at the webhook")
                assert receiver.accepted_ids() == event_ids
                messages = await site_messages(target, site.site, set(event_ids))
                published = [(message.headers or {})["Nats-Msg-Id"] for message in messages]
                assert list(dict.fromkeys(published)) == event_ids
    finally:
        await pool.close()


async def check_writes_and_live_streams(
    spread: Spread, site: Any, post_id: str, pool: asyncpg.Pool
) -> None:
    """30 comments through the three instances, concurrently; A's live stream sees them all,
    and the feed, read a page from each instance in turn, holds each once in commit order."""
    on_a = spread.sessions[0]
    seen: list[str] = []
    reader = asyncio.create_task(
        follow(on_a, f"/v1/sites/{site.site}/posts/{post_id}/comments/stream", seen)
    )
    try:
        posted = await asyncio.gather(
            *(comment(spread.next(), site, post_id, f"comment {n}") for n in range(30))
        )
        ids = {answer["id"] for answer in posted}

        async def streamed() -> bool:
            return set(seen) >= ids

        await wait_until(streamed, "A's live stream to show the comments posted on B and C")
        assert len(seen) == len(set(seen))
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)

    log = await site_events(pool, site.site, 31)
    feed: list[dict[str, Any]] = []
    after: str | None = None
    while len(feed) < 31:
        params = {"limit": "7"} | ({"after": after} if after else {})
        response = await spread.next().get(
            "/v1/events", params=params, headers=site.auth("subscriber")
        )
        page = await json_body(response, 200)
        feed += page["events"]
        after = page["next"]
    assert [event["id"] for event in feed] == [str(recorded.event_id) for recorded in log]
    commented = [event["data"]["comment_id"] for event in feed if event["type"] == "comment.posted"]
    assert sorted(commented) == sorted(ids)


async def check_site_changes_and_revocations(
    spread: Spread, site: Any, post_id: str, url: str
) -> None:
    on_a, on_b, on_c = spread.sessions
    # C has the site cached (it took comments); A changes its rate limit: C applies it at once.
    changed = await on_a.patch(f"/v1/sites/{site.site}/settings",
                               json={"rate_limit_per_minute": 1},
                               headers=site.auth("moderator"))  # fmt: skip
    await json_body(changed, 200)
    began = time.monotonic()
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"

    async def limited() -> bool:
        answer = await on_c.post(path, json={"author": {"name": "R"}, "body": "over the limit?"})
        assert answer.status in (201, 429), await answer.text()
        return answer.status == 429

    await wait_until(limited, "C to apply the new rate limit")
    # Not the cache's lifetime: C was told.
    assert time.monotonic() - began < CACHE_SECONDS / 2
    back = await on_a.patch(f"/v1/sites/{site.site}/settings",
                            json={"rate_limit_per_minute": None},
                            headers=site.auth("moderator"))  # fmt: skip
    await json_body(back, 200)

    # The origins, changed by the CLI: B lets the new origin's browsers in.
    origin = "https://moved.example"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}

    async def allowed() -> bool:
        answer = await on_b.options(path, headers=preflight)
        return answer.headers.get("Access-Control-Allow-Origin") == origin

    assert not await allowed()
    done = await asyncio.to_thread(threadlog, url, "sites", "set-origins", site.site, "--origin",
                                   origin)  # fmt: skip
    assert done.returncode == 0, done.stderr
    began = time.monotonic()
    await wait_until(allowed, "B to allow the new origin")
    assert time.monotonic() - began < CACHE_SECONDS / 2

    # A key revoked through the CLI is refused by every instance from the next request on.
    for session in spread.sessions:
        answer = await session.get(
            "/v1/events", params={"limit": "1"}, headers=site.auth("subscriber")
        )
        assert answer.status == 200
    key_id = site.subscriber.split("_")[1]
    done = await asyncio.to_thread(threadlog, url, "keys", "revoke", key_id)
    assert done.returncode == 0, done.stderr
    for session in spread.sessions:
        answer = await session.get(
            "/v1/events", params={"limit": "1"}, headers=site.auth("subscriber")
        )
        assert answer.status == 401, await answer.text()
