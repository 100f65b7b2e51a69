"""The readers' live stream's pages, read once for all readers at the same place.

Readers of a popular post are woken together and mostly wait at the same event: those whose
next read is the same (the post, where they are, the thread's stamp) share one read, so a
thousand readers cost the database what one does.
"""

import asyncio
from collections.abc import Awaitable, Callable

# (stream id, after version, thread stamp position)
Key = tuple[str, int, int]
# The page's Server-Sent Events and the version it ends at; None when nothing is new.
Page = tuple[bytes, int] | None


class SharedPages:
    def __init__(self) -> None:
        self.reading: dict[Key, asyncio.Task[Page]] = {}

    async def read(self, key: Key, read: Callable[[], Awaitable[Page]]) -> Page:
        task = self.reading.get(key)
        if task is None:
            task = asyncio.ensure_future(read())
            self.reading[key] = task
            task.add_done_callback(lambda _: self.reading.pop(key, None))
        # One reader leaving does not cancel the read the others wait for.
        return await asyncio.shield(task)
