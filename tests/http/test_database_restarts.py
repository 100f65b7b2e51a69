"""The service through PostgreSQL restarts (fast and immediate) under load, as an operator does
them: 16 clients write (retrying a 503 with the same Idempotency-Key, as the widget does),
readers page threads, a key holder's live stream, a reader's live stream, a webhook and the
NATS relay are open. Nothing answers a 5xx but 503; afterwards every acknowledged comment is
readable, and the feed, both streams, the webhook and the relay hold every event once, in order.
"""

import asyncio
import contextlib
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from nats.aio.msg import Msg

from service.settings import Settings
from tests.builders import Client, SiteKeys, json_body, publish, register_webhook
from tests.clusters import Cluster
from tests.http.test_stream import messages
from tests.jetstream import Target, site_messages
from tests.outages import Private, assert_unavailable, post_comment, private_app, retried
from tests.receivers import Receiver, receiving
from tests.waiting import wait_until

WRITERS = 16
COMMENTS_EACH = 15
POSTS = 4
READERS = 4
RECOVERY_SECONDS = 2.0


class Load:
    """The clients, and what they saw."""

    def __init__(self, private: Private) -> None:
        self.private = private
        self.statuses: Counter[int] = Counter()
        self.acknowledged: dict[str, str] = {}  # comment id -> post id
        self.writing = True

    @property
    def client(self) -> Client:
        return self.private.client

    @property
    def site(self) -> SiteKeys:
        return self.private.site

    async def counted(self, response: ClientResponse) -> ClientResponse:
        self.statuses[response.status] += 1
        if response.status == 503:
            await assert_unavailable(response)
        return response

    async def write(self, posts: list[str], number: int) -> None:
        for index in range(COMMENTS_EACH):
            post_id = posts[(number + index) % len(posts)]
            key = str(uuid.uuid4())
            path = f"/v1/sites/{self.site.site}/posts/{post_id}/comments"
            body = {"author": {"name": f"writer {number}"}, "body": f"{number}/{index}"}
            while True:
                try:
                    sent = self.client.post(path, json=body, headers={"Idempotency-Key": key})
                    response = await self.counted(await sent)
                except aiohttp.ClientError:
                    response = None  # the answer was lost: send it again with its key
                if response is not None and response.status == 201:
                    break
                await asyncio.sleep(random.uniform(0.05, 0.2))
            self.acknowledged[(await response.json())["id"]] = post_id

    async def read(self, posts: list[str]) -> None:
        while self.writing:
            post_id = random.choice(posts)
            path = f"/v1/sites/{self.site.site}/posts/{post_id}/comments"
            cursor: str | None = None
            while self.writing:
                params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
                response = await self.counted(await self.client.get(path, params=params))
                if response.status != 200:
                    await asyncio.sleep(0.05)
                    break
                cursor = (await response.json())["next"]
                if cursor is None:
                    break


async def follow(response: ClientResponse, into: list[dict[str, str]]) -> None:
    with contextlib.suppress(aiohttp.ClientError):
        async for message in messages(response):
            if "id" in message and message.get("event") != "ready":
                into.append(message)


@pytest.fixture
async def loaded(
    private_cluster: Cluster, target: Target
) -> AsyncIterator[tuple[Private, Receiver]]:
    async with receiving() as receiver:
        changes: dict[str, Any] = {
            "webhooks_dispatch": True,
            "webhooks_allow_private": True,
            "nats_url": target.url,
            "nats_stream": target.stream,
            "nats_subject_prefix": target.prefix,
            "pool_max_size": 10,
        }
        assert set(changes) <= set(Settings.model_fields)
        async for private in private_app(private_cluster, **changes):
            yield private, receiver


async def feed_of(private: Private) -> list[dict[str, Any]]:
    response = await private.client.get(
        "/v1/events", params={"limit": "1000"}, headers=private.site.auth("subscriber")
    )
    events: list[dict[str, Any]] = (await json_body(response, 200))["events"]
    return events


async def test_restarts_under_load_lose_nothing_and_answer_only_503(
    loaded: tuple[Private, Receiver], target: Target
) -> None:
    private, receiver = loaded
    client, site = private.client, private.site
    await register_webhook(client, site, receiver.url, after="0-0")
    posts = [private.post_id] + [await publish(client, site) for _ in range(POSTS - 1)]
    load = Load(private)
    stream_events: list[dict[str, str]] = []
    reader_events: list[dict[str, str]] = []
    async with (
        client.get("/v1/events/stream", headers=site.auth("subscriber")) as stream,
        client.get(f"/v1/sites/{site.site}/posts/{posts[0]}/comments/stream") as reader_stream,
    ):
        assert stream.status == reader_stream.status == 200
        followers = [
            asyncio.create_task(follow(stream, stream_events)),
            asyncio.create_task(follow(reader_stream, reader_events)),
        ]
        readers = [asyncio.create_task(load.read(posts)) for _ in range(READERS)]
        writers = asyncio.gather(*(load.write(posts, number) for number in range(WRITERS)))
        total = WRITERS * COMMENTS_EACH
        for share, mode in ((3, "fast"), (3 / 2, "immediate")):
            await wait_until(
                partial(at_least, load, total / share), f"{total / share:.0f} comments written"
            )
            await asyncio.to_thread(private.cluster.restart, mode)
        await writers
        load.writing = False
        await asyncio.gather(*readers)

        assert set(load.statuses) <= {200, 201, 503}, load.statuses
        assert load.statuses[503] > 0, "the restarts went unnoticed"
        assert len(load.acknowledged) == total

        # Every acknowledged comment is readable, once.
        for post_id in posts:
            response = await client.get(
                f"/v1/sites/{site.site}/posts/{post_id}/comments", params={"limit": "200"}
            )
            shown = [comment["id"] for comment in (await json_body(response, 200))["comments"]]
            written = [c for c, post in load.acknowledged.items() if post == post_id]
            assert sorted(shown) == sorted(written)

        # The feed holds every event once; both streams, the webhook and the relay follow it.
        expected = POSTS + total
        await wait_until(partial(feed_complete, private, expected), f"{expected} events")
        feed = await feed_of(private)
        posted = [
            event["data"]["comment_id"] for event in feed if event["type"] == "comment.posted"
        ]
        assert sorted(posted) == sorted(load.acknowledged)
        cursors = [event["cursor"] for event in feed]

        await wait_until(lambda: done(len(stream_events) >= expected), "the stream")
        assert [message["id"] for message in stream_events] == cursors

        on_first_post = {c for c, post in load.acknowledged.items() if post == posts[0]}
        await wait_until(
            lambda: done(len(reader_events) >= len(on_first_post)), "the reader's stream"
        )
        assert [json.loads(m["data"])["id"] for m in reader_events] == [
            event["data"]["comment_id"]
            for event in feed
            if event["type"] == "comment.posted" and event["data"]["post_id"] == posts[0]
        ]

        ids = [event["id"] for event in feed]
        await wait_until(
            lambda: done(set(receiver.accepted_ids()) >= set(ids)), "the webhook's deliveries"
        )
        assert receiver.accepted_ids() == ids  # in order; a repeat only where one was cut short

        relayed = await site_messages(target, site.site, set(ids))
        firsts = list(dict.fromkeys((m.headers or {})["Nats-Msg-Id"] for m in relayed))
        assert firsts == ids
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)


async def at_least(load: Load, count: float) -> bool:
    return len(load.acknowledged) >= count


async def feed_complete(private: Private, expected: int) -> bool:
    return len(await feed_of(private)) >= expected


async def done(condition: bool) -> bool:
    return condition


async def test_every_follower_resumes_within_2_s_of_the_database_answering(
    loaded: tuple[Private, Receiver], target: Target
) -> None:
    """After an outage, a new comment reaches the key holder's stream, the reader's stream, the
    webhook and the NATS relay within RECOVERY_SECONDS of PostgreSQL accepting connections."""
    private, receiver = loaded
    client, site = private.client, private.site
    await register_webhook(client, site, receiver.url)
    loop = asyncio.get_running_loop()
    arrived: dict[str, float] = {}
    comment_id = ""

    async def watch(name: str, response: ClientResponse) -> None:
        with contextlib.suppress(aiohttp.ClientError):
            async for message in messages(response):
                if comment_id and comment_id in message.get("data", ""):
                    arrived.setdefault(name, loop.time())

    async def relayed(message: Msg) -> None:
        if comment_id and comment_id in message.data.decode():
            arrived.setdefault("relay", loop.time())

    subscription = await target.client.subscribe(target.site_subject(site.site), cb=relayed)
    stream_path = f"/v1/sites/{site.site}/posts/{private.post_id}/comments/stream"
    async with (
        client.get("/v1/events/stream", headers=site.auth("subscriber")) as stream,
        client.get(stream_path) as reader_stream,
    ):
        watchers = [
            asyncio.create_task(watch("stream", stream)),
            asyncio.create_task(watch("reader's stream", reader_stream)),
        ]
        private.cluster.stop("fast")
        await asyncio.sleep(1)  # everyone notices the outage
        private.cluster.start()
        answering = loop.time()
        key = str(uuid.uuid4())
        written = await retried(partial(post_comment, private, key))
        comment_id = (await json_body(written, 201))["id"]

        async def webhook_arrival() -> bool:
            for request in receiver.requests:
                if comment_id in request.body.decode():
                    arrived.setdefault("webhook", loop.time())
            return len(arrived) == 4

        await wait_until(webhook_arrival, "the comment everywhere")
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    await subscription.unsubscribe()
    delays = {name: round(at - answering, 2) for name, at in arrived.items()}
    assert all(delay < RECOVERY_SECONDS for delay in delays.values()), delays
