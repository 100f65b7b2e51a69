"""The mail worker: one per cluster (a session advisory lock on a connection of its own, like
the NATS relay's), which feeds the outbox from the log and sends what is due.

Feeding and checkpointing share a transaction, so each event makes its mail once. A mail is
marked sent as soon as the server took it, before anything else happens: a restart sends only
what is still pending. A server that fails puts each mail off with backoff (the webhooks'
`retry_delay`); none of this touches the write path.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

from service.access.credentials import ServerSecret
from service.db import Connection, Outage, lost_connection
from service.eventstore import store
from service.eventstore.cursors import Cursor
from service.eventstore.streams import lock_key
from service.metrics import Metrics
from service.settings import Settings
from service.subscriptions.mail import feed
from service.subscriptions.mail.compose import Composer
from service.subscriptions.mail.smtp import Delivery, Outcome, Server, deliver
from service.subscriptions.mail.templates import Templates
from service.subscriptions.nats_relay import LOAD_CHECKPOINT, SAVE_CHECKPOINT
from service.subscriptions.sessions import lock_session
from service.subscriptions.wakeup import CHANNEL, Wakeup
from service.subscriptions.webhook_owner import retry_delay

log = logging.getLogger("threadlog.mail")

CHECKPOINT = "mail:outbox"
PAGE = 200
SENDS_PER_ROUND = 20
POLL_SECONDS = 1.0
LOCK_RETRY_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
STOP_GRACE_SECONDS = 2.0

DUE = """
SELECT * FROM mail_outbox
WHERE state = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at, mail_id LIMIT $1
"""
# Mails sent in the last hour to this address, and from this site.
SENT_LAST_HOUR = """
SELECT (SELECT count(*) FROM mail_outbox WHERE address = $1 AND state = 'sent'
          AND sent_at > now() - interval '1 hour'),
       (SELECT count(*) FROM mail_outbox WHERE site = $2 AND state = 'sent'
          AND sent_at > now() - interval '1 hour')
"""
SENT = (
    "UPDATE mail_outbox SET state = 'sent', sent_at = now(), last_error = NULL WHERE mail_id = $1"
)
DROPPED = "UPDATE mail_outbox SET state = 'dropped' WHERE mail_id = $1"
LATER = """
UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2) WHERE mail_id = $1
"""
RETRY = """
UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2,
    next_attempt_at = now() + make_interval(secs => $3),
    state = CASE WHEN created_at < now() - make_interval(secs => $4) THEN 'failed' ELSE state END
WHERE mail_id = $1
"""
REFUSED = "UPDATE mail_outbox SET state = 'failed', last_error = $2 WHERE mail_id = $1"
# A 5xx for the address: nothing more to it until it confirms again.
BOUNCED = """
UPDATE mail_recipients SET bounced_at = now(), confirmed_at = NULL
WHERE site = $1 AND email_hash = $2
"""
# Past an hourly limit, a mail waits this long before it is looked at again.
LIMITED_SECONDS = 300.0
# Mail sent, dropped or given up on is kept a week (for the hourly limits, and to look into),
# spent links until they would have expired anyway; this often they are cleared.
PURGE_SECONDS = 600.0
PURGE = """
DELETE FROM mail_outbox WHERE state <> 'pending' AND created_at < now() - interval '7 days'
"""
PURGE_LINKS = """
DELETE FROM mail_links_used WHERE used_at < now() - make_interval(days => $1 + 1)
"""


class MailWorker:
    def __init__(
        self,
        settings: Settings,
        wakeup: Wakeup,
        server_secret: ServerSecret,
        metrics: Metrics | None = None,
    ) -> None:
        assert settings.database_url is not None and settings.smtp_url is not None
        self.settings = settings
        self.database_url = settings.database_url
        self.server = Server.parse(settings.smtp_url.get_secret_value())
        self.wakeup = wakeup
        self.server_secret = server_secret
        self.metrics = metrics
        self.templates = Templates(settings.mail_templates)
        self.gathering = feed.Gathering(settings.mail_gather_seconds)
        self.public_url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip(
            "/"
        )
        self.stopping = asyncio.Event()
        self.outage = Outage(log, "mail")

    async def stop(self, task: "asyncio.Task[None]") -> None:
        """Stop between two mails (the one in hand is recorded), or cut short after a grace."""
        self.stopping.set()
        self.wakeup.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def run(self) -> None:
        said = False
        while not self.stopping.is_set():
            try:
                await self.lead()
            except Exception as error:
                if lost_connection(error):
                    self.outage.lost(error)
                elif not said:
                    log.warning("mail stopped (%r); starting over", error)
                    said = True
                await asyncio.sleep(RECONNECT_SECONDS)

    async def lead(self) -> None:
        async with lock_session(self.database_url, "threadlog-mail") as connection:
            self.outage.resumed()
            while not await connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", lock_key(CHECKPOINT)
            ):
                if self.stopping.is_set():
                    return
                await asyncio.sleep(LOCK_RETRY_SECONDS)
            woken = asyncio.Event()
            await connection.add_listener(CHANNEL, lambda *_: woken.set())
            composer = Composer(
                self.templates,
                await self.server_secret.get(),
                self.public_url,
                self.settings.mail_from or "",
                self.settings.mail_link_days,
            )
            cursor = await self.checkpoint(connection)
            purged = 0.0
            while not self.stopping.is_set():
                if time.monotonic() - purged > PURGE_SECONDS:
                    await connection.execute(PURGE)
                    await connection.execute(PURGE_LINKS, self.settings.mail_link_days)
                    purged = time.monotonic()
                woken.clear()
                events = await store.read_all(connection, cursor, PAGE)
                if events:
                    cursor = events[-1].cursor
                    async with connection.transaction():
                        await feed.enqueue(connection, events, self.gathering)
                        await save(connection, cursor)
                sent = await self.send_due(connection, composer)
                if not events and not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), POLL_SECONDS)

    async def checkpoint(self, connection: Connection) -> Cursor:
        """Where feeding resumes; the first time, at the log's head (nothing older is mailed)."""
        row = await connection.fetchrow(LOAD_CHECKPOINT, CHECKPOINT)
        if row is not None:
            return Cursor(row["epoch"], row["transaction_id"], row["position"])
        cursor = await store.head(connection)
        await save(connection, cursor)
        return cursor

    async def send_due(self, connection: Connection, composer: Composer) -> int:
        """Send what is due; how many mails were looked at."""
        due = await connection.fetch(DUE, SENDS_PER_ROUND)
        for mail in due:
            if self.stopping.is_set():
                break
            await self.send(connection, composer, mail)
        return len(due)

    async def send(self, connection: Connection, composer: Composer, mail: Any) -> None:
        try:
            message = await composer.compose(connection, mail)
        except (ValueError, KeyError, OSError, UnicodeError) as error:
            # An owner's template that cannot be read or filled: this mail is given up on,
            # rather than every mail waiting behind it.
            log.warning("mail %s (%s) cannot be written: %r", mail["mail_id"], mail["kind"], error)
            await connection.execute(REFUSED, mail["mail_id"], type(error).__name__)
            return
        if message is None:
            await connection.execute(DROPPED, mail["mail_id"])
            return
        sent = await connection.fetchrow(SENT_LAST_HOUR, mail["address"], mail["site"])
        assert sent is not None
        if (
            sent[0] >= self.settings.mail_per_address_per_hour
            or sent[1] >= self.settings.mail_per_site_per_hour
        ):
            await connection.execute(LATER, mail["mail_id"], LIMITED_SECONDS)
            return
        delivery = await deliver(self.server, message)
        await self.record(connection, mail, delivery)

    async def record(self, connection: Connection, mail: Any, delivery: Delivery) -> None:
        kind = mail["kind"]
        if delivery.outcome is Outcome.SENT:
            await connection.execute(SENT, mail["mail_id"])
            if self.metrics is not None:
                self.metrics.mail_sent.labels(kind).inc()
            return
        if self.metrics is not None:
            self.metrics.mail_failed.labels(kind).inc()
        log.info("mail %s (%s) not sent: %s", mail["mail_id"], kind, delivery.error)
        if delivery.outcome is Outcome.REFUSED:
            async with connection.transaction():
                await connection.execute(REFUSED, mail["mail_id"], delivery.error)
                if mail["email_hash"] is not None:
                    await connection.execute(BOUNCED, mail["site"], mail["email_hash"])
            return
        delay = retry_delay(
            mail["attempts"],
            self.settings.mail_retry_base_seconds,
            self.settings.mail_retry_max_seconds,
        )
        hours = self.settings.mail_retry_hours * 3600
        await connection.execute(RETRY, mail["mail_id"], delivery.error, delay, hours)


async def save(connection: Connection, cursor: Cursor) -> None:
    await connection.execute(
        SAVE_CHECKPOINT, CHECKPOINT, str(cursor.transaction_id), cursor.position, cursor.epoch
    )
