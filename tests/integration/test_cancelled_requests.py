"""A request cancelled in the middle of its write (a client gone, a shutdown cutting it short)
neither cancels the write nor leaves a connection mid-operation for the next request."""

import asyncio
import random

from service.db import create_pool
from service.domain.commands import ChangeSiteSettings
from service.settings import Settings
from service.write.application import Application
from tests.builders import META, MODERATOR_META, make_site, post_comment, publish_post

WRITES = 120


async def test_cancelled_writes_complete_and_leave_every_connection_usable(
    settings: Settings,
) -> None:
    pool = await create_pool(
        settings.model_copy(update={"pool_max_size": 4}), settings.database_url or ""
    )
    application = Application(pool)
    try:
        site = (await make_site(pool)).site  # type: ignore[arg-type]
        await application.execute(publish_post("p", site=site), META)
        comments = [post_comment(site=site, post_id="p") for _ in range(WRITES)]

        async def write(number: int) -> None:
            if number % 4 == 0:
                change = ChangeSiteSettings(site=site, changes={"banned_words": [f"word{number}"]})
                await application.execute(change, MODERATOR_META)
            else:
                await application.execute(comments[number], META)

        requests = [asyncio.create_task(write(number)) for number in range(WRITES)]
        await asyncio.sleep(0)
        for request in random.sample(requests, WRITES // 2):
            request.cancel()  # at whatever point each has reached
            await asyncio.sleep(random.uniform(0, 0.002))
        done = await asyncio.gather(*requests, return_exceptions=True)
        assert all(r is None or isinstance(r, asyncio.CancelledError) for r in done), done
        await application.close()  # the cancelled writes went on, and finished

        # Every write happened, cancelled or not; every connection is fit for the next request.
        counts = dict(
            await pool.fetch("SELECT type, count(*) FROM events WHERE site = $1 GROUP BY 1", site)
        )
        assert counts["comment.posted"] == len([n for n in range(WRITES) if n % 4])
        assert counts["site.settings_changed"] == len([n for n in range(WRITES) if n % 4 == 0])
        connections = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            assert [await c.fetchval("SELECT 1") for c in connections] == [1] * len(connections)
        finally:
            for connection in connections:
                await pool.release(connection)
    finally:
        await application.close()
        await pool.close()
