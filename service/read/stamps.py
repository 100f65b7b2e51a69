"""Thread stamps (and comment counts) for many concurrent readers in few queries.

A reader needs its threads' stamps as of a moment after its request arrived. While one lookup
is in flight, the requests that arrive meanwhile wait and go together in the next one, so a
busy service asks once for many readers (thread reads and counts alike).

The answers are also kept, for at most `seconds` (THREADLOG_STAMP_SECONDS), while the process
hears of no write: every commit of this process's writers, and every NOTIFY of another
process's (see subscriptions/wakeup.py), moves the hints' `generation` on, which forgets them
all. So this process's own writes are seen at once, another instance's as soon as its NOTIFY
arrives, and a write that tells nobody (SQL by hand, say) within `seconds`. While the wake-up
connection is down nothing is kept, since a NOTIFY could be missed. With `seconds` 0 every
reader waits for a lookup, as before.
"""

import asyncio
import time
from collections.abc import Hashable
from typing import Protocol

from service.db import Pool
from service.read import threads
from service.read.threads import ThreadStamp

Key = tuple[str, str]
Found = dict[Key, ThreadStamp]
# Kept stamps beyond this many are not kept (a reader asking for many posts in turn must not
# grow the process; the threads it asks again are looked up again).
MAX_KEPT = 100_000
# Values made of kept stamps (counts bodies), at most.
MAX_MADE = 10_000


class Hints(Protocol):
    """What tells this process that something may have been written (a Wakeup)."""

    generation: int

    def listening(self) -> bool: ...


class ThreadStamps:
    def __init__(self, pool: Pool, hints: Hints | None = None, seconds: float = 0.0) -> None:
        self.pool = pool
        self.hints = hints
        self.seconds = seconds if hints is not None else 0.0
        # Each waiter's keys, its answer, and whether kept stamps may answer it.
        self.waiting: list[tuple[list[Key], asyncio.Future[Found], bool]] = []
        self.looking: asyncio.Task[None] | None = None
        # Stamps (None: no such post) learned by lookups sent at `kept_since` or later, in
        # `kept_generation`: right until `kept_until` unless the generation moves on.
        self.kept: dict[Key, ThreadStamp | None] = {}
        self.kept_generation = -1
        self.kept_since = 0.0
        self.kept_until = 0.0
        # Moves on whenever what is kept changes; what was made of kept stamps (a counts
        # body) is kept beside them under the version it was made in.
        self.version = 0
        self.made: dict[Hashable, object] = {}
        self.made_version = 0

    async def get(self, site: str, post_id: str) -> ThreadStamp | None:
        key = (site, post_id)
        if self.fresh() and key in self.kept:
            return self.kept[key]
        return (await self.lookup([key])).get(key)

    async def get_current(self, site: str, post_id: str) -> ThreadStamp | None:
        """The stamp as of a moment after this call, never a kept one: for a reader that the
        log itself woke (a live stream), which may know of an event before any hint of its
        write reached this process."""
        key = (site, post_id)
        return (await self.lookup([key], may_keep=False)).get(key)

    async def get_many(self, keys: list[Key]) -> Found:
        """The stamps of those of `keys` whose post exists (and maybe of others: ignore them)."""
        found = self.kept_stamps(keys)
        return found if found is not None else await self.lookup(keys)

    async def get_many_current(self, keys: list[Key]) -> Found:
        """As `get_many`, never from kept stamps (see `get_current`)."""
        return await self.lookup(keys, may_keep=False)

    def answered(self, keys: list[Key], future: asyncio.Future[Found], may_keep: bool) -> bool:
        """Whether `future` got its stamps from those kept (or needs none: it was cancelled)."""
        if future.done():
            return True
        found = self.kept_stamps(keys) if may_keep else None
        if found is None:
            return False
        future.set_result(found)
        return True

    def kept_stamps(self, keys: list[Key]) -> Found | None:
        """The stamps of `keys` from those kept, if they are fresh and all of them are kept."""
        if not self.fresh():
            return None
        kept = self.kept
        found: Found = {}
        for key in keys:
            if key not in kept:
                return None
            stamp = kept[key]
            if stamp is not None:
                found[key] = stamp
        return found

    def made_of_kept(self, key: Hashable) -> object | None:
        """What `keep_made` kept under `key`, while the stamps it was made of are unchanged."""
        if self.made_version != self.version or not self.fresh():
            return None
        return self.made.get(key)

    def keep_made(self, key: Hashable, value: object, version: int) -> None:
        """Keep `value`, made of stamps that `get_many` answered while `version` was current
        (read before asking), if they were kept ones and still are."""
        if version != self.version or not self.fresh():
            return
        if self.made_version != version or len(self.made) >= MAX_MADE:
            self.made = {}
            self.made_version = version
        self.made[key] = value

    def fresh(self) -> bool:
        """Whether the kept stamps are still right (see the module's docstring)."""
        hints = self.hints
        return (
            hints is not None
            and hints.generation == self.kept_generation
            and time.monotonic() < self.kept_until
            and hints.listening()
        )

    async def lookup(self, keys: list[Key], may_keep: bool = True) -> Found:
        future: asyncio.Future[Found] = asyncio.get_running_loop().create_future()
        self.waiting.append((keys, future, may_keep))
        if self.looking is None:
            self.looking = asyncio.create_task(self.look())
        return await future

    async def look(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                # Who came while the last lookup ran may find all they want in its answer.
                batch = [waiter for waiter in batch if not self.answered(*waiter)]
                if not batch:
                    continue
                wanted = list(dict.fromkeys(key for keys, _, _ in batch for key in keys))
                # Read before the query is sent: a write heard while it runs makes its answer
                # one not to keep (it may be older than that write).
                generation = self.hints.generation if self.hints is not None else 0
                sent = time.monotonic()
                try:
                    found = await threads.thread_stamps(self.pool, wanted)
                except Exception as error:
                    for _, future, _ in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                self.keep(wanted, found, generation, sent)
                # One answer for every waiter: each reads only its own keys.
                for _, future, _ in batch:
                    if not future.done():
                        future.set_result(found)
        finally:
            self.looking = None

    def keep(self, wanted: list[Key], found: Found, generation: int, sent: float) -> None:
        hints = self.hints
        if hints is None or self.seconds <= 0:
            return
        if generation != hints.generation or not hints.listening():
            return
        if generation != self.kept_generation or sent >= self.kept_until:
            # Start again from this answer: it is right for `seconds` from when it was asked.
            self.kept = {}
            self.kept_generation = generation
            self.kept_since = sent
            self.kept_until = sent + self.seconds
            self.version += 1
        elif sent < self.kept_since:
            return  # asked before what is kept: it would outlive its own `seconds`
        if len(self.kept) + len(wanted) > MAX_KEPT:
            return
        for key in wanted:
            self.kept[key] = found.get(key)
        self.version += 1
