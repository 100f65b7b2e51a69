"""Thread stamps for many concurrent readers in few queries.

A reader needs its thread's stamp as of a moment after its request arrived. While one lookup
is in flight, the requests that arrive meanwhile wait and go together in the next one, so a
busy service asks once for many readers and every answer is still fresh.
"""

import asyncio

from service.db import Pool
from service.read import threads
from service.read.threads import ThreadStamp

Key = tuple[str, str]


class ThreadStamps:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.waiting: dict[Key, list[asyncio.Future[ThreadStamp | None]]] = {}
        self.looking: asyncio.Task[None] | None = None

    async def get(self, site: str, post_id: str) -> ThreadStamp | None:
        future: asyncio.Future[ThreadStamp | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault((site, post_id), []).append(future)
        if self.looking is None:
            self.looking = asyncio.create_task(self.look())
        return await future

    async def look(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, {}
                try:
                    found = await threads.thread_stamps(self.pool, list(batch))
                except Exception as error:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(error)
                    continue
                for key, futures in batch.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(found.get(key))
        finally:
            self.looking = None
