"""Relaying the log to a NATS JetStream stream, in commit order, at least once.

Every event of every site goes to `<prefix>.<site>.<type>` with `Nats-Msg-Id` = its event id,
so JetStream drops the copies a retry sends within the stream's duplicate window. The relay's
checkpoint is a row in `projection_checkpoints`, advanced only after JetStream acknowledged a
whole page: a crash anywhere republishes from the checkpoint, never skips.

One relay per stream runs at a time: it holds a session advisory lock on a connection of its
own, and does all its reading, listening and checkpointing on that connection, so a relay that
lost the lock (its connection died) fails at its next query and starts over, waiting for the
lock like any newcomer.
"""

import asyncio
import contextlib
import json
import logging

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from service.db import Outage, lost_connection
from service.eventstore import store
from service.eventstore.cloudevents import cloud_event_json
from service.eventstore.cursors import START, Cursor
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import lock_key
from service.subscriptions.sessions import lock_session
from service.subscriptions.wakeup import CHANNEL

log = logging.getLogger("threadlog.relay")

PAGE = 500
POLL_SECONDS = 0.1
LOCK_RETRY_SECONDS = 1.0
ACK_SECONDS = 5.0
BACKOFF_SECONDS = 0.5
DUPLICATE_WINDOW_SECONDS = 120.0

LOAD_CHECKPOINT = """
SELECT epoch, transaction_id::text::bigint AS transaction_id, position
FROM projection_checkpoints WHERE name = $1
"""
SAVE_CHECKPOINT = """
INSERT INTO projection_checkpoints (name, transaction_id, position, epoch)
VALUES ($1, $2::text::xid8, $3, $4)
ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
    position = excluded.position, epoch = excluded.epoch, updated_at = now()
"""


def checkpoint_name(stream: str) -> str:
    return f"relay:nats:{stream}"


def subject_for(prefix: str, recorded: RecordedEvent) -> str:
    """`<prefix>.<site>.<type>`; a site's dots become `%2E` so it stays one subject token. A
    group's events, which belong to no site, go to `<prefix>._group.<group>.<type>` (no site's
    name starts with `_`)."""
    if "group" in recorded.data:
        group = str(recorded.data["group"]).replace(".", "%2E")
        return f"{prefix}._group.{group}.{recorded.type}"
    site = str(recorded.data["site"]).replace(".", "%2E")
    return f"{prefix}.{site}.{recorded.type}"


async def run_relay(
    database_url: str,
    nats_url: str,
    stream: str,
    prefix: str,
    stop: asyncio.Event | None = None,
) -> None:
    """Publish the log to `stream` until `stop` is set or the task is cancelled.

    Stopping cancels whatever is in hand, even a page half sent: it is sent again next time.
    """
    relay = asyncio.create_task(relay_forever(database_url, nats_url, stream, prefix))
    stopping = asyncio.create_task((stop or asyncio.Event()).wait())
    try:
        await asyncio.wait({relay, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        relay.cancel()
        stopping.cancel()
        await asyncio.gather(relay, stopping, return_exceptions=True)


async def relay_forever(database_url: str, nats_url: str, stream: str, prefix: str) -> None:
    async def report(error: Exception) -> None:
        log.warning("NATS: %r", error)

    waiting = Waiting(stream)
    outage = Outage(log, f"the relay to {stream}")
    client: Client | None = None
    try:
        while True:
            try:
                if client is None:
                    # Retries the first connect, and later reconnects, by itself, forever.
                    client = await nats.connect(
                        nats_url, name="threadlog-relay", max_reconnect_attempts=-1, error_cb=report
                    )
                await lead(database_url, client, stream, prefix, waiting, outage)
            except Exception as error:
                # A dead lock connection, a refused or unacknowledged page, a missing stream:
                # each starts over from the checkpoint (JetStream drops what is sent twice).
                if lost_connection(error):
                    outage.lost(error)
                else:
                    log.warning("relay to %s stopped (%r); starting over", stream, error)
                await asyncio.sleep(BACKOFF_SECONDS)
    finally:
        if client is not None:
            await client.close()


class Waiting:
    """Says once that another relay holds the stream's lock."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.said = False

    def say(self) -> None:
        if not self.said:
            log.info("another relay publishes to %s; waiting for its lock", self.stream)
            self.said = True


async def lead(
    database_url: str, client: Client, stream: str, prefix: str, waiting: Waiting, outage: Outage
) -> None:
    """Take the stream's lock, then publish pages from the checkpoint for as long as it lasts."""
    name = checkpoint_name(stream)
    async with lock_session(database_url, "threadlog-relay") as connection:
        outage.resumed()
        while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(name)):
            waiting.say()
            await asyncio.sleep(LOCK_RETRY_SECONDS)
        woken = asyncio.Event()
        await connection.add_listener(CHANNEL, lambda *_: woken.set())
        await ensure_stream(client.jetstream(), stream, prefix)
        row = await connection.fetchrow(LOAD_CHECKPOINT, name)
        cursor = Cursor(row["epoch"], row["transaction_id"], row["position"]) if row else START
        log.info("relaying to %s from %s", stream, cursor)
        while True:
            woken.clear()
            events = await store.read_all(connection, cursor, PAGE)
            if not events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), POLL_SECONDS)
                continue
            await publish_page(client, events, prefix)
            cursor = events[-1].cursor
            await connection.execute(
                SAVE_CHECKPOINT, name, str(cursor.transaction_id), cursor.position, cursor.epoch
            )


async def ensure_stream(jetstream: JetStreamContext, stream: str, prefix: str) -> None:
    """Create the stream if it is missing; an existing one keeps its operator's settings."""
    try:
        await jetstream.stream_info(stream)
    except NotFoundError:
        await jetstream.add_stream(
            name=stream,
            subjects=[f"{prefix}.>"],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )


async def publish_page(client: Client, events: list[RecordedEvent], prefix: str) -> None:
    """Publish `events` and return once JetStream stored (or deduplicated) every one of them.

    The page is pipelined: one connection delivers messages in the order they are written, so
    the stream stores them in commit order without waiting for each ack. The one way a later
    message could overtake an earlier one is a lost earlier message (a reconnect drops what
    was in flight, then flushes what was buffered); each message therefore names its
    predecessor in `Nats-Expected-Last-Msg-Id`, and JetStream refuses it unless that is the
    stream's last message. A retry of the page resends the stored prefix, which JetStream
    deduplicates before that check, so the chain picks up where it broke.
    """
    acks: asyncio.Queue[Msg] = asyncio.Queue()

    async def receive(message: Msg) -> None:
        acks.put_nowait(message)

    inbox = client.new_inbox()
    subscription = await client.subscribe(f"{inbox}.*", cb=receive)
    try:
        previous: str | None = None
        for number, recorded in enumerate(events):
            headers = {"Nats-Msg-Id": str(recorded.event_id)}
            if previous is not None:
                headers["Nats-Expected-Last-Msg-Id"] = previous
            await client.publish(
                subject_for(prefix, recorded),
                cloud_event_json(recorded).encode(),
                reply=f"{inbox}.{number}",
                headers=headers,
            )
            previous = headers["Nats-Msg-Id"]
        async with asyncio.timeout(ACK_SECONDS):
            for _ in events:
                check_ack(await acks.get())
    finally:
        await subscription.unsubscribe()


def check_ack(message: Msg) -> None:
    if message.headers and message.headers.get("Status") == "503":
        raise NoStreamResponseError
    answer = json.loads(message.data)
    if "error" in answer:
        raise APIError(**answer["error"])
