"""Background upkeep: forget Idempotency-Keys once no client would still retry with them, and
rate-limit windows once they are over."""

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from service.db import Pool
from service.keys import POOL
from service.rate_limits import forget_old_windows

log = logging.getLogger("threadlog.maintenance")

IDEMPOTENCY_WINDOW = timedelta(hours=24)
EVERY_SECONDS = 600.0


async def forget_idempotency_keys(pool: Pool, older_than: timedelta = IDEMPOTENCY_WINDOW) -> int:
    status = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval", older_than
    )
    return int(status.split()[-1])


async def upkeep(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                forgotten = await forget_idempotency_keys(app[POOL])
                if forgotten:
                    log.info("forgot %d idempotency keys", forgotten)
                await forget_old_windows(app[POOL])
            except Exception:
                log.exception("idempotency key upkeep failed; trying again later")
            await asyncio.sleep(EVERY_SECONDS)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
