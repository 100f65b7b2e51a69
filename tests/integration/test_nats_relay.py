"""The NATS JetStream relay against a real nats-server (see tests/jetstream.py)."""

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from nats.aio.msg import Msg

from service.app import create_app, nats_relay
from service.eventstore.cursors import START, Cursor
from service.eventstore.streams import lock_key
from service.settings import Settings
from service.subscriptions.nats_relay import checkpoint_name
from service.write.application import Application
from tests.builders import META, Client, comment, make_site, post_comment, publish, publish_post
from tests.jetstream import Target, relaying, site_messages, stored_count
from tests.waiting import feed, site_events, stop, wait_until

BIN = Path(sys.executable).parent
THREADLOG = str(BIN / "threadlog")


async def checkpoint(pool: asyncpg.Pool, target: Target) -> Cursor:
    row = await pool.fetchrow(
        "SELECT epoch, transaction_id::text::bigint AS transaction_id, position"
        " FROM projection_checkpoints WHERE name = $1",
        checkpoint_name(target.stream),
    )
    return Cursor(row["epoch"], row["transaction_id"], row["position"]) if row else START


def order(cursor: Cursor) -> tuple[int, int, int]:
    return (cursor.epoch, cursor.transaction_id, cursor.position)


async def test_events_arrive_on_their_subject_as_the_feed_shows_them(
    client: Client,
    pool: asyncpg.Pool,
    database_url: str,
    target: Target,
) -> None:
    site = await make_site(pool, site=f"blog.example-{secrets.token_hex(4)}")
    async with relaying(database_url, target):
        post_id = await publish(client, site)
        first = await comment(client, site, post_id, body="first")
        await comment(client, site, post_id, body="reply", parent_id=first["id"])
        events = (await feed(client, site, 3))["events"]
        assert len(events) == 3
        messages = await site_messages(target, site.site, {event["id"] for event in events})
    escaped = site.site.replace(".", "%2E")
    assert "." not in escaped
    assert [message.subject for message in messages] == [
        f"{target.prefix}.{escaped}.{event['type']}" for event in events
    ]
    assert [(message.headers or {}).get("Nats-Msg-Id") for message in messages] == [
        event["id"] for event in events
    ]
    assert [json.loads(message.data) for message in messages] == events


def start_relay(database_url: str, target: Target, log: Path) -> "subprocess.Popen[bytes]":
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "THREADLOG_NATS_STREAM": target.stream,
        "THREADLOG_NATS_SUBJECT_PREFIX": target.prefix,
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [THREADLOG, "relay", "nats", "--url", target.url],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def test_a_killed_relay_resumes_and_every_event_arrives_in_commit_order(
    pool: asyncpg.Pool, database_url: str, target: Target, tmp_path: Path
) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    posts = [f"p{n}" for n in range(4)]
    for post_id in posts:
        await application.execute(publish_post(post_id, site=site), META)
    published, halfway = asyncio.Event(), asyncio.Event()

    async def seen(message: Msg) -> None:
        published.set()

    async def writer(number: int) -> None:
        for n in range(100):
            if n == 50:
                await halfway.wait()
            await application.execute(
                post_comment(site=site, post_id=posts[(number + n) % len(posts)]), META
            )

    async def started() -> bool:
        # The relay sends this site's events, or has checkpointed past some of them.
        return published.is_set() or order(await checkpoint(pool, target)) > order(before)

    before = await checkpoint(pool, target)
    watching = await target.client.subscribe(target.site_subject(site), cb=seen)
    log = tmp_path / "relay.log"
    relay = start_relay(database_url, target, log)
    writing = asyncio.gather(*(writer(number) for number in range(8)))
    try:
        # Kill it as soon as it started on this site, before the second half is written.
        await wait_until(started, "the relay to start on the site")
        stop(relay, signal.SIGKILL)
        relay = start_relay(database_url, target, log)
        halfway.set()
        await writing
        events = await site_events(pool, site, len(posts) + 800)
        event_ids = [str(recorded.event_id) for recorded in events]
        messages = await site_messages(target, site, set(event_ids))
    finally:
        halfway.set()
        await asyncio.gather(writing, return_exceptions=True)
        stop(relay, signal.SIGTERM)
        await watching.unsubscribe()
        await application.close()
    arrived = [(message.headers or {})["Nats-Msg-Id"] for message in messages]
    assert len(events) == len(posts) + 800
    assert set(arrived) == set(event_ids), log.read_text()
    assert list(dict.fromkeys(arrived)) == event_ids, "first arrivals are not in commit order"


async def test_publishing_a_page_again_adds_nothing_to_the_stream(
    pool: asyncpg.Pool, database_url: str, target: Target
) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    try:
        await application.execute(publish_post(site=site), META)
        for _ in range(20):
            await application.execute(post_comment(site=site), META)
        events = await site_events(pool, site, 21)

        async def all_stored() -> bool:
            return await stored_count(target, site) >= 21

        async def all_checkpointed() -> bool:
            return order(await checkpoint(pool, target)) >= order(events[-1].cursor)

        async with relaying(database_url, target):
            await wait_until(all_stored, "the site's events in the stream")
            # JetStream stores a page before the relay checkpoints it, and stopping the relay
            # drops what it has in hand: without this wait, `reached` could be older than the
            # site's events, and `caught_up` below true before anything was sent again.
            await wait_until(all_checkpointed, "the relay to checkpoint the site's events")
        reached = await checkpoint(pool, target)
        assert await stored_count(target, site) == 21

        # Back to just before the site's first event; the page sent again also holds new
        # events behind the copies, which must still be stored, once, in order.
        first = events[0].cursor
        await pool.execute(
            "UPDATE projection_checkpoints SET transaction_id = $2::text::xid8, position = $3,"
            " epoch = $4 WHERE name = $1",
            checkpoint_name(target.stream),
            str(first.transaction_id),
            first.position - 1,
            first.epoch,
        )
        for _ in range(5):
            await application.execute(post_comment(site=site), META)
        events = await site_events(pool, site, 26)
    finally:
        await application.close()

    async def caught_up() -> bool:
        return order(await checkpoint(pool, target)) > order(reached)

    async with relaying(database_url, target):
        await wait_until(caught_up, "the relay to publish the site's events again")
        messages = await site_messages(target, site, {str(e.event_id) for e in events})
    assert await stored_count(target, site) == 26
    arrived = [(message.headers or {})["Nats-Msg-Id"] for message in messages]
    assert arrived == [str(recorded.event_id) for recorded in events]


async def test_one_relay_per_stream_and_a_lost_lock_starts_over(
    pool: asyncpg.Pool, database_url: str, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="threadlog.relay")
    key = lock_key(checkpoint_name(target.stream)) & (2**64 - 1)
    holders = """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1"""

    async def holder() -> int | None:
        pids = [row["pid"] for row in await pool.fetch(holders, key >> 32, key & (2**32 - 1))]
        assert len(pids) <= 1
        return pids[0] if pids else None

    async def waiting() -> bool:
        return "waiting for its lock" in caplog.text

    site = await make_site(pool)
    application = Application(pool)
    try:
        async with relaying(database_url, target), relaying(database_url, target):
            await wait_until(waiting, "the second relay to wait for the lock")
            first_holder = await holder()
            assert first_holder is not None
            await pool.execute("SELECT pg_terminate_backend($1)", first_holder)

            async def taken_over() -> bool:
                return (await holder()) not in (None, first_holder)

            await wait_until(taken_over, "a relay to take the lock again")
            await application.execute(publish_post(site=site.site), META)
            events = await site_events(pool, site.site, 1)
            await site_messages(target, site.site, {str(events[0].event_id)})
    finally:
        await application.close()
    assert caplog.text.count("waiting for its lock") <= 2


async def test_serve_runs_the_relay_only_when_a_nats_url_is_set(
    settings: Settings, pool: asyncpg.Pool, target: Target
) -> None:
    assert nats_relay not in create_app(settings).cleanup_ctx
    configured = settings.model_copy(
        update={
            "nats_url": target.url,
            "nats_stream": target.stream,
            "nats_subject_prefix": target.prefix,
        }
    )
    app = create_app(configured)
    assert nats_relay in app.cleanup_ctx
    site = await make_site(pool)
    async with TestClient(TestServer(app)) as served:
        await publish(served, site)
        events = (await feed(served, site, 1))["events"]
        messages = await site_messages(target, site.site, {events[0]["id"]})
    assert [json.loads(message.data) for message in messages] == events
