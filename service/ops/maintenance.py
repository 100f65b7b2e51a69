"""Background upkeep: forget IP digests past their retention (ops/retention.py), Idempotency-Keys
once no client would still retry with them, webhook delivery records once they are no longer
recent, rate-limit windows once over, and webhooks' previous secrets once their overlap is
over."""

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from service.access.rate_limits import forget_old_windows
from service.db import Outage, Pool, repeating
from service.keys import POOL, SETTINGS
from service.ops import ledger
from service.ops.retention import forget_old_ip_digests
from service.subscriptions.webhooks import forget_deliveries, forget_previous_secrets

log = logging.getLogger("threadlog.maintenance")

IDEMPOTENCY_WINDOW = timedelta(hours=24)
EVERY_SECONDS = 600.0
DELIVERY_DAYS = 30


async def forget_idempotency_keys(pool: Pool, older_than: timedelta = IDEMPOTENCY_WINDOW) -> int:
    status = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval", older_than
    )
    return int(status.split()[-1])


async def upkeep(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    swept = False

    async def once() -> None:
        nonlocal swept
        forgotten_days = await forget_old_ip_digests(
            app[POOL], settings.ip_retention_days, sweep=not swept
        )
        swept = swept or forgotten_days.ran
        if forgotten_days.days:
            log.info("forgot the IP digests of %d days", len(forgotten_days.days))
            await ledger.record(app[POOL], settings.ledger_path())
        forgotten = await forget_idempotency_keys(app[POOL])
        if forgotten:
            log.info("forgot %d idempotency keys", forgotten)
        forgotten = await forget_deliveries(app[POOL], DELIVERY_DAYS)
        if forgotten:
            log.info("forgot %d webhook delivery records", forgotten)
        await forget_old_windows(app[POOL])
        await forget_previous_secrets(app[POOL])

    async with repeating(EVERY_SECONDS, once, Outage(log, "upkeep")):
        yield
