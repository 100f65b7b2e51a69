"""Appends comments straight through the application (no HTTP) at a fixed rate, as a second
service instance or an importer would, for bench/stream_lag.py --writer direct.

.venv/bin/python -P bench/direct_writer.py DATABASE_URL SITE RATE DURATION OUT.json POST...

Writes {n: [sent, committed]} in time.monotonic() seconds, which is one clock for every
process on the machine, so the reader's arrival times compare with them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from service.db import create_pool
from service.domain.commands import PostComment
from service.domain.events import Author
from service.settings import Settings
from service.subscriptions.wakeup import Wakeup
from service.write.application import Application

MAX_IN_FLIGHT = 512
META = {"actor": {"kind": "author"}, "request_id": "bench", "ip_hash": "bench"}


def comment(site: str, post_id: str, n: int) -> PostComment:
    return PostComment(
        site=site,
        post_id=post_id,
        comment_id=str(uuid.uuid4()),
        parent_id=None,
        author=Author(name="lag"),
        body=f"lag {n}",
        body_html=f"<p>lag {n}</p>",
        at=datetime.now(UTC),
        delete_token_sha256=b"t" * 32,
    )


async def write(
    url: str, site: str, rate: float, duration: float, posts: list[str]
) -> dict[str, object]:
    settings = Settings(database_url=url)
    pool = await create_pool(settings, url)
    # Like a service instance: a NOTIFY after its commits wakes the other instances' streams.
    wakeup = Wakeup()
    await wakeup.start(url)
    application = Application(pool, settings.writers, settings.batch_size, wakeup.committed)
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    times: dict[int, list[float]] = {}

    async def one(n: int) -> None:
        try:
            await application.execute(comment(site, posts[n % len(posts)], n), META)
            times[n].append(time.monotonic())
        finally:
            in_flight.release()

    tasks = []
    start = time.monotonic()
    for n in range(int(rate * duration)):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await in_flight.acquire()
        times[n] = [time.monotonic()]
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    await application.close()
    await wakeup.stop()
    await pool.close()
    return {"elapsed": elapsed, "times": times}


def main() -> None:
    url, site, rate, duration, out, *posts = sys.argv[1:]
    result = asyncio.run(write(url, site, float(rate), float(duration), posts))
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
