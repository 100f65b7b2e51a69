"""Delivering the log to webhooks: in commit order, one request in flight per webhook, at least
once, and many webhooks in parallel.

Each process that dispatches keeps one connection of its own (the owner). On it, it takes a
session advisory lock per webhook before delivering to it, and it writes every delivery record
and checkpoint: a checkpoint advances only after a 2xx, in the statement that records the
attempt. When a process dies its locks go with its connection and another process takes its
webhooks over from their checkpoints; a worker whose owner connection died can send at most
one more request, which cannot reorder anything because its record is refused.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import replace

import aiohttp

from service.access.credentials import ServerSecret
from service.db import Outage, Pool, create_pool, lost_connection
from service.eventstore import store
from service.eventstore.cloudevents import cloud_event_json
from service.eventstore.store import RecordedEvent
from service.logs import RequestContext
from service.metrics import Metrics
from service.settings import Settings
from service.subscriptions import webhooks
from service.subscriptions.sessions import lock_session
from service.subscriptions.targets import ForbiddenTarget, GuardedResolver, check_literal
from service.subscriptions.wakeup import Wakeup
from service.subscriptions.webhook_owner import Attempt, Owner
from service.subscriptions.webhooks import Webhook, WebhookStatus

log = logging.getLogger("threadlog.webhooks")

PAGE = 100
# Idle webhooks re-read the log this often besides being woken (a commit behind an older
# running transaction wakes nobody when it becomes readable).
POLL_SECONDS = 0.25
SUPERVISE_SECONDS = 1.0
RECONNECT_SECONDS = 0.5
# Asked to stop, a worker finishes the delivery in hand (its checkpoint then moves) for at
# most this long; then it is cut short, and that event is delivered again by the next owner.
STOP_GRACE_SECONDS = 2.0
RESPONSE_BYTES = 64 * 1024
USER_AGENT = "threadlog-webhooks/1"


class Dispatcher:
    def __init__(
        self,
        pool: Pool,
        database_url: str,
        settings: Settings,
        wakeup: Wakeup,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.database_url = database_url
        self.settings = settings
        self.wakeup = wakeup
        self.stopping = asyncio.Event()
        self.outage = Outage(log, "webhook dispatch")

    async def stop(self, task: "asyncio.Task[None]") -> None:
        """Stop `task` (running `run`) at a checkpoint: each worker ends after the delivery in
        hand, within STOP_GRACE_SECONDS; then whatever is left is cancelled."""
        self.stopping.set()
        self.wakeup.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS + 1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def run(self, server_secret: ServerSecret) -> None:
        """Deliver until stopped or cancelled; losing the database only pauses delivery."""
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.settings.webhooks_allow_private), limit=100
        )
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds)
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT},
        ) as self.session:
            while not self.stopping.is_set():
                try:
                    # Signing secrets derive from the server secret (see webhooks.py).
                    self.server_secret = await server_secret.get()
                    await self.lead()
                except Exception as error:
                    if lost_connection(error):
                        self.outage.lost(error)
                    else:
                        log.warning("webhook dispatch stopped (%r); starting over", error)
                    await asyncio.sleep(RECONNECT_SECONDS)

    async def lead(self) -> None:
        """Take the webhooks no other process delivers, and deliver them while the owner
        connection lasts; its failure ends every worker."""
        async with lock_session(self.database_url, "threadlog-webhooks") as connection:
            owner = Owner(connection)
            workers: dict[uuid.UUID, asyncio.Task[None]] = {}
            try:
                while not self.stopping.is_set():
                    for webhook_id, task in list(workers.items()):
                        if task.done():
                            del workers[webhook_id]
                            await self.finished(owner, webhook_id, task)
                    for webhook_id in await owner.active() - workers.keys():
                        if await owner.take(webhook_id):
                            delivery = self.deliver(owner, webhook_id)
                            workers[webhook_id] = asyncio.create_task(delivery)
                    self.outage.resumed()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), SUPERVISE_SECONDS)
                if workers:
                    # Stopping: each worker ends at its next checkpoint.
                    await asyncio.wait(workers.values(), timeout=STOP_GRACE_SECONDS)
            finally:
                # Before the session ends: a worker must not outlive its webhook's lock.
                for task in workers.values():
                    task.cancel()
                await asyncio.gather(*workers.values(), return_exceptions=True)

    async def finished(
        self, owner: Owner, webhook_id: uuid.UUID, task: "asyncio.Task[None]"
    ) -> None:
        error = task.exception()
        if error is not None:
            if owner.connection.is_closed():
                raise error
            if lost_connection(error):
                self.outage.lost(error)
            else:
                log.warning("delivery to webhook %s stopped (%r); restarting", webhook_id, error)
        await owner.release(webhook_id)

    async def deliver(self, owner: Owner, webhook_id: uuid.UUID) -> None:
        """Deliver one webhook's events in order until it is no longer active."""
        while not self.stopping.is_set():
            generation = self.wakeup.generation
            hook = await webhooks.load(self.pool, webhook_id)
            if hook is None or hook.status is not WebhookStatus.ACTIVE:
                return
            if hook.seconds_to_next_attempt > 0:
                # Capped, so that a replay or a resume is noticed soon.
                await asyncio.sleep(min(hook.seconds_to_next_attempt, SUPERVISE_SECONDS))
                continue
            types = list(hook.types) or None
            events = await store.read_all(self.pool, hook.cursor, PAGE, site=hook.site, types=types)
            if not events:
                await self.wakeup.wait(generation, POLL_SECONDS)
                continue
            signing = webhooks.signing_secrets(self.server_secret, hook)
            for event in events:
                if owner.connection.is_closed():
                    return  # another process may own the webhook now
                if self.stopping.is_set():
                    return  # at a checkpoint: the next owner starts from here
                # The delivery's lines name the request that caused the event.
                with RequestContext(event.metadata.get("request_id")):
                    attempt = await self.attempt(hook, signing, event)
                    self.account(hook, event, attempt)
                    updated_at = await owner.record(hook, event, attempt, self.settings)
                if updated_at is None or not attempt.succeeded:
                    break  # to retry later, or changed meanwhile: read it again
                hook = replace(hook, cursor=event.cursor, attempts=0, updated_at=updated_at)

    def account(self, hook: Webhook, event: RecordedEvent, attempt: Attempt) -> None:
        if self.metrics is not None:
            self.metrics.webhook_deliveries.labels(attempt.outcome).inc()
        if not attempt.succeeded:
            # The status only: a receiver's error text may quote its URL, which can hold a
            # token (many chat webhooks do).
            log.info(
                "webhook %s: delivery of %s %s failed (%s, attempt %d)",
                hook.webhook_id,
                event.type,
                event.event_id,
                attempt.status_code or "no answer",
                hook.attempts + 1,
            )

    async def attempt(
        self, hook: Webhook, signing: tuple[bytes, ...], event: RecordedEvent
    ) -> Attempt:
        body = cloud_event_json(event).encode()
        message_id, timestamp = str(event.event_id), int(time.time())
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.signatures(signing, message_id, timestamp, body),
        }
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            check_literal(hook.url, self.settings.webhooks_allow_private)
            async with self.session.post(
                hook.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status_code = response.status
                # Read a little, so the connection can serve the next request.
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await response.content.read(RESPONSE_BYTES)
            if not 200 <= status_code < 300:
                error = f"answered {status_code} {response.reason or ''}".strip()
        except ForbiddenTarget as refused:
            error = f"refused: {refused}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as failed:
            error = f"{type(failed).__name__}: {failed}"[:500]
        latency_ms = round((time.monotonic() - started) * 1000)
        return Attempt(status_code, error, latency_ms)


async def run_dispatcher(settings: Settings, configured_secret: bytes | None) -> None:
    """`threadlog webhooks dispatch`: deliver with a pool and wake-ups of its own."""
    assert settings.database_url is not None
    pool = await create_pool(settings, settings.database_url)
    wakeup = Wakeup()
    try:
        await wakeup.start(settings.database_url)
        dispatcher = Dispatcher(pool, settings.database_url, settings, wakeup)
        await dispatcher.run(ServerSecret(pool, configured_secret))
    finally:
        await wakeup.stop()
        await pool.close()
