"""Thread stamps (and comment counts) for many concurrent readers in few queries.

A reader needs its threads' stamps as of a moment after its request arrived. While one lookup
is in flight, the requests that arrive meanwhile wait and go together in the next one, so a
busy service asks once for many readers (thread reads and counts alike) and every answer is
still fresh.
"""

import asyncio

from service.db import Pool
from service.read import threads
from service.read.threads import ThreadStamp

Key = tuple[str, str]
Found = dict[Key, ThreadStamp]


class ThreadStamps:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.waiting: list[tuple[list[Key], asyncio.Future[Found]]] = []
        self.looking: asyncio.Task[None] | None = None

    async def get(self, site: str, post_id: str) -> ThreadStamp | None:
        return (await self.get_many([(site, post_id)])).get((site, post_id))

    async def get_many(self, keys: list[Key]) -> Found:
        """The stamps of those of `keys` whose post exists (and maybe of others: ignore them)."""
        future: asyncio.Future[Found] = asyncio.get_running_loop().create_future()
        self.waiting.append((keys, future))
        if self.looking is None:
            self.looking = asyncio.create_task(self.look())
        return await future

    async def look(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                wanted = list(dict.fromkeys(key for keys, _ in batch for key in keys))
                try:
                    found = await threads.thread_stamps(self.pool, wanted)
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                # One answer for every waiter: each reads only its own keys.
                for _, future in batch:
                    if not future.done():
                        future.set_result(found)
        finally:
            self.looking = None
