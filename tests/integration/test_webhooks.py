"""Webhook delivery against real receivers: signatures, order, retries, 410, ownership, kills.

Each test runs its own dispatcher(s) and deletes its webhooks at the end, so no dispatcher ever
delivers another test's webhook.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import standardwebhooks

from service.access.credentials import ServerSecret
from service.settings import Settings
from service.subscriptions.dispatcher import Dispatcher
from service.subscriptions.wakeup import Wakeup
from service.subscriptions.webhooks import forget_previous_secrets
from service.write.application import Application
from tests.builders import (
    META,
    Client,
    SiteKeys,
    comment,
    make_site,
    post_comment,
    publish,
    publish_post,
    register_webhook,
    serving,
)
from tests.receivers import Receiver, receiving
from tests.waiting import advisory_holders, feed, site_events, stop, wait_until

THREADLOG = str(Path(sys.executable).parent / "threadlog")
FAST = {
    "webhooks_dispatch": True,
    "webhook_retry_base_seconds": 0.02,
    "webhook_retry_max_seconds": 0.1,
}


@contextlib.asynccontextmanager
async def dispatching(
    pool: asyncpg.Pool, settings: Settings, **changes: Any
) -> AsyncIterator[Settings]:
    configured = settings.model_copy(update=FAST | changes)
    assert configured.database_url is not None
    wakeup = Wakeup()
    await wakeup.start(configured.database_url)
    dispatcher = Dispatcher(pool, configured.database_url, configured, wakeup)
    task = asyncio.create_task(dispatcher.run(ServerSecret(pool, None)))
    try:
        yield configured
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await wakeup.stop()


@contextlib.asynccontextmanager
async def registered(
    client: Client,
    site: SiteKeys,
    url: str,
    **fields: Any,
) -> AsyncIterator[dict[str, Any]]:
    hook = await register_webhook(client, site, url, **fields)
    try:
        yield hook
    finally:
        await client.delete(f"/v1/webhooks/{hook['id']}", headers=site.auth("moderator"))


async def webhook(
    client: Client,
    site: SiteKeys,
    hook_id: str,
) -> dict[str, Any]:
    response = await client.get(f"/v1/webhooks/{hook_id}", headers=site.auth("moderator"))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def checkpointed(client: Client, site: SiteKeys, hook_id: str, cursor: str) -> dict[str, Any]:
    """The webhook once its checkpoint is at `cursor`.

    The receiver counts a request before it answers, and the dispatcher moves the checkpoint
    (in the statement that records the delivery) only once the answer has arrived: what
    `arrived` saw is not in the webhook's state yet. Counting after answering would not close
    that gap, so a test that reads the state, or changes it, first waits for the checkpoint.
    """
    state: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal state
        state = await webhook(client, site, hook_id)
        return bool(state["cursor"] == cursor)

    await wait_until(reached, f"the checkpoint of webhook {hook_id} at {cursor}")
    return state


async def arrived(receiver: Receiver, count: int) -> None:
    async def enough() -> bool:
        return len(receiver.accepted_ids()) >= count

    await wait_until(enough, f"{count} events at the receiver")


async def requested(receiver: Receiver, count: int) -> None:
    async def enough() -> bool:
        return len(receiver.requests) >= count

    await wait_until(enough, f"{count} requests at the receiver")


async def test_events_arrive_signed_in_commit_order_as_the_feed_shows_them(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    async with (
        receiving() as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        post_id = await publish(client, site)
        first = await comment(client, site, post_id, body="first")
        await comment(client, site, post_id, body="reply", parent_id=first["id"])
        await arrived(receiver, 3)
    events = (await feed(client, site, 3))["events"]
    assert [r.event for r in receiver.requests] == events
    verifier = standardwebhooks.Webhook(hook["secret"])
    for received in receiver.requests:
        verifier.verify(received.body, received.headers)
        assert received.headers["webhook-id"] == received.event["id"]
    forged = receiver.requests[1]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(forged.body.replace(b"first", b"fakes"), forged.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + "A" * 44).verify(forged.body, forged.headers)


async def test_a_receiver_that_fails_for_a_while_gets_everything_in_order(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    receiver = Receiver(answer=lambda number: 500 if number <= 6 else 200)
    async with (
        receiving(receiver) as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        post_id = await publish(client, site)
        for n in range(5):
            await comment(client, site, post_id, body=f"comment {n}")
        await arrived(receiver, 6)
        events = (await feed(client, site, 6))["events"]
        state = await checkpointed(client, site, hook["id"], events[-1]["cursor"])
        response = await client.get(
            f"/v1/webhooks/{hook['id']}/deliveries", headers=site.auth("moderator")
        )
        deliveries = (await response.json())["deliveries"]
    assert receiver.accepted_ids() == [event["id"] for event in events]
    # Nothing was accepted before the sixth failure, and each failure was retried in place.
    assert receiver.first_arrivals() == [event["id"] for event in events]
    assert receiver.answered[500] == 6
    assert state["status"] == "active" and state["attempts"] == 0
    assert state["cursor"] == events[-1]["cursor"]
    oldest_first = list(reversed(deliveries))
    assert [d["status_code"] for d in oldest_first] == [500] * 6 + [200] * 6
    assert [d["attempt"] for d in oldest_first[:7]] == [1, 2, 3, 4, 5, 6, 7]
    assert oldest_first[0]["error"] and oldest_first[0]["status"] == "failed"
    assert {d["event_id"] for d in oldest_first[:7]} == {events[0]["id"]}


async def test_410_gone_disables_the_webhook_at_once(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    receiver = Receiver(answer=lambda number: 410)
    async with (
        receiving(receiver) as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        await publish(client, site)

        async def disabled() -> bool:
            return (await webhook(client, site, hook["id"]))["status"] == "disabled"

        await wait_until(disabled, "the webhook to be disabled")
        await publish(client, site)
        await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1


async def test_a_webhook_failing_past_the_retry_period_is_marked_failing_and_resumes(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    healthy = asyncio.Event()
    receiver = Receiver(answer=lambda number: 200 if healthy.is_set() else 503)
    async with (
        receiving(receiver) as receiver,
        dispatching(pool, settings, webhook_retry_hours=0.5 / 3600),
        registered(client, site, receiver.url) as hook,
    ):
        await publish(client, site)

        async def failing() -> bool:
            return (await webhook(client, site, hook["id"]))["status"] == "failing"

        await wait_until(failing, "the webhook to be marked failing")
        state = await webhook(client, site, hook["id"])
        assert state["attempts"] >= 2 and state["last_error"] == "answered 503 Service Unavailable"
        tried = len(receiver.requests)
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == tried, "a failing webhook is not retried"
        healthy.set()
        response = await client.patch(
            f"/v1/webhooks/{hook['id']}",
            json={"status": "active"},
            headers=site.auth("moderator"),
        )
        assert response.status == 200
        await arrived(receiver, 1)
    assert receiver.accepted_ids() == [(await feed(client, site, 1))["events"][0]["id"]]


async def test_types_pause_resume_and_replay(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    moderator = site.auth("moderator")
    async with (
        receiving() as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url, types=["comment.posted"]) as hook,
    ):
        url = f"/v1/webhooks/{hook['id']}"
        post_id = await publish(client, site)
        first = await comment(client, site, post_id)
        await comment(client, site, post_id, parent_id=first["id"])
        await arrived(receiver, 1)
        # A pause refuses the checkpoint write of a delivery still being recorded, and the
        # event would be sent again after the resume: pause once it is recorded.
        written = (await feed(client, site, 3))["events"]
        first_posted = next(e for e in written if e["type"] == "comment.posted")
        await checkpointed(client, site, hook["id"], first_posted["cursor"])
        assert (await client.patch(url, json={"status": "paused"}, headers=moderator)).ok
        # A worker that read the webhook just before the pause still sends what it read.
        await asyncio.sleep(0.3)
        for _ in range(3):
            await comment(client, site, post_id)
        await asyncio.sleep(0.5)
        assert len(receiver.accepted_ids()) == 1, "a paused webhook delivers nothing"
        assert (await client.patch(url, json={"status": "active"}, headers=moderator)).ok
        await arrived(receiver, 4)
        events = (await feed(client, site, 6, types="comment.posted"))["events"]
        posted = [e for e in events if e["type"] == "comment.posted"]
        assert receiver.accepted_ids() == [e["id"] for e in posted]
        replay = await client.post(
            f"{url}/replay", json={"after": posted[1]["cursor"]}, headers=moderator
        )
        assert replay.status == 202, await replay.text()
        await requested(receiver, 6)
    again = [r.headers["webhook-id"] for r in receiver.requests[4:]]
    assert again == [e["id"] for e in posted[2:]]


async def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    async with (
        receiving() as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        response = await client.post(
            f"/v1/webhooks/{hook['id']}/secret", headers=site.auth("moderator")
        )
        rotated = await response.json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
        assert rotated["previous_secret_until"] is not None
        await publish(client, site)
        await arrived(receiver, 1)
        during = receiver.requests[0]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        # A receiver that has not switched yet, and one that has: both accept it.
        standardwebhooks.Webhook(hook["secret"]).verify(during.body, during.headers)
        standardwebhooks.Webhook(rotated["secret"]).verify(during.body, during.headers)

        # The overlap ends (as if 24 hours had passed): the old secret signs nothing more,
        # and upkeep erases what it derived from.
        await pool.execute(
            "UPDATE webhooks SET previous_secret_until = now() WHERE webhook_id = $1",
            uuid.UUID(hook["id"]),
        )
        assert await forget_previous_secrets(pool) >= 1
        stored = await pool.fetchrow(
            "SELECT previous_secret_salt, previous_secret_until FROM webhooks "
            "WHERE webhook_id = $1",
            uuid.UUID(hook["id"]),
        )
        assert tuple(stored) == (None, None)
        assert (await webhook(client, site, hook["id"]))["previous_secret_until"] is None
        await publish(client, site)
        await arrived(receiver, 2)
    after = receiver.requests[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.Webhook(rotated["secret"]).verify(after.body, after.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(hook["secret"]).verify(after.body, after.headers)


async def test_without_an_overlap_a_rotated_secret_alone_signs_what_follows(
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    async with (
        serving(settings, webhook_secret_overlap_hours=0) as client,
        receiving() as receiver,
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        response = await client.post(
            f"/v1/webhooks/{hook['id']}/secret", headers=site.auth("moderator")
        )
        rotated = await response.json()
        assert rotated["previous_secret_until"] is None
        await publish(client, site)
        await arrived(receiver, 1)
    received = receiver.requests[0]
    standardwebhooks.Webhook(rotated["secret"]).verify(received.body, received.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(hook["secret"]).verify(received.body, received.headers)


async def test_a_receiver_slower_than_the_timeout_is_retried(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    receiver = Receiver()
    async with (
        receiving(receiver) as receiver,
        dispatching(pool, settings, webhook_timeout_seconds=0.2),
        registered(client, site, receiver.url) as hook,
    ):
        receiver.delay_seconds = 1.0
        await publish(client, site)

        async def timed_out() -> bool:
            return (await webhook(client, site, hook["id"]))["attempts"] >= 1

        await wait_until(timed_out, "a timed-out attempt")
        receiver.delay_seconds = 0
        event = (await feed(client, site, 1))["events"][0]
        await checkpointed(client, site, hook["id"], event["cursor"])
        response = await client.get(
            f"/v1/webhooks/{hook['id']}/deliveries", headers=site.auth("moderator")
        )
        deliveries = list(reversed((await response.json())["deliveries"]))
    assert deliveries[0]["error"] == "no answer within 0.2 s"
    assert deliveries[0]["status_code"] is None and deliveries[0]["latency_ms"] >= 200
    assert deliveries[-1]["status"] == "succeeded"
    assert {d["event_id"] for d in deliveries} == {event["id"]}


async def lock_holders(pool: asyncpg.Pool, hook_id: str) -> list[int]:
    return await advisory_holders(pool, f"webhook:{hook_id}")


async def test_with_two_dispatchers_one_delivers_and_the_other_takes_over(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    async with (
        receiving() as receiver,
        dispatching(pool, settings),
        dispatching(pool, settings),
        registered(client, site, receiver.url) as hook,
    ):
        post_id = await publish(client, site)
        await arrived(receiver, 1)
        holders = await lock_holders(pool, hook["id"])
        assert len(holders) == 1
        await pool.execute("SELECT pg_terminate_backend($1)", holders[0])

        async def taken_over() -> bool:
            return (await lock_holders(pool, hook["id"])) not in ([], holders)

        await wait_until(taken_over, "the other dispatcher to take the webhook")
        for _ in range(5):
            await comment(client, site, post_id)
        await arrived(receiver, 6)
    events = (await feed(client, site, 6))["events"]
    assert receiver.first_arrivals() == [event["id"] for event in events]
    # A worker whose owner connection died may send the event in hand before it notices.
    assert len(receiver.requests) <= 7, "more than the event in flight was delivered twice"


def start_dispatcher(database_url: str, log: Path) -> "subprocess.Popen[bytes]":
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "THREADLOG_WEBHOOKS_ALLOW_PRIVATE": "true",
        "THREADLOG_WEBHOOK_RETRY_BASE_SECONDS": "0.02",
        "THREADLOG_WEBHOOK_RETRY_MAX_SECONDS": "0.1",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [THREADLOG, "webhooks", "dispatch"], env=environment, stdout=output, stderr=output
        )


async def test_a_killed_dispatcher_resumes_and_every_event_arrives_in_order(
    client: Client,
    pool: asyncpg.Pool,
    database_url: str,
    tmp_path: Path,
) -> None:
    site = await make_site(pool)
    application = Application(pool)
    posts = [f"p{n}" for n in range(4)]
    for post_id in posts:
        await application.execute(publish_post(post_id, site=site.site), META)
    halfway = asyncio.Event()

    async def writer(number: int) -> None:
        for n in range(50):
            if n == 25:
                await halfway.wait()
            post_id = posts[(number + n) % len(posts)]
            await application.execute(post_comment(site=site.site, post_id=post_id), META)

    log = tmp_path / "dispatcher.log"
    async with receiving() as receiver:
        hook = await register_webhook(client, site, receiver.url, after="0-0")
        dispatcher = start_dispatcher(database_url, log)
        writing = asyncio.gather(*(writer(number) for number in range(8)))
        try:
            # Kill it while it delivers, before the second half is written.
            await arrived(receiver, 10)
            stop(dispatcher, signal.SIGKILL)
            dispatcher = start_dispatcher(database_url, log)
            halfway.set()
            await writing
            expected = len(posts) + 400
            events = await site_events(pool, site.site, expected)
            await arrived(receiver, expected)
        finally:
            halfway.set()
            await asyncio.gather(writing, return_exceptions=True)
            stop(dispatcher, signal.SIGTERM)
            await client.delete(f"/v1/webhooks/{hook['id']}", headers=site.auth("moderator"))
            await application.close()
    event_ids = [str(recorded.event_id) for recorded in events]
    assert receiver.accepted_ids() == event_ids, log.read_text()
    assert receiver.first_arrivals() == event_ids, "first arrivals are not in commit order"


async def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    site: SiteKeys,
) -> None:
    # Registered while private targets were allowed; the dispatcher now forbids them, as it
    # would a public name that later resolves to a private address.
    async with receiving() as receiver, dispatching(pool, settings, webhooks_allow_private=False):
        url = receiver.url.replace("127.0.0.1", "localhost")
        async with registered(client, site, url) as hook:
            await publish(client, site)

            async def refused() -> bool:
                return (await webhook(client, site, hook["id"]))["attempts"] >= 1

            await wait_until(refused, "a refused attempt")
            state = await webhook(client, site, hook["id"])
    assert receiver.requests == []
    assert state["last_error"].startswith("refused: ")
    assert "loopback or private" in state["last_error"]
