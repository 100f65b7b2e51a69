"""One reader of the log per process, for every live stream waiting in it.

A stream that has sent everything waits here instead of polling. The tail reads what was
appended after its own place once per wake-up (this process's commits, NOTIFY from others) and
once a second besides, and only where each event belongs (its site and stream); then it wakes
the streams waiting on those sites (the key holders' streams) or posts (the readers' streams).
A woken stream reads its own backlog from its own cursor, so it never skips an event, and a
thousand idle streams cost what one does: one narrow query per wake-up.

Readers' streams read their post's stream by version, which needs no wait for older
transactions: they are woken as soon as an event of their post has committed. Key holders'
streams read the log as a whole, in commit order: they are woken once the event is settled
(no older transaction runs any more; see eventstore/store.py).

A stream goes to wait with the tail's count of completed reads taken *before* its own read (its
mark). An event its read could not see yet (an older transaction still ran) but a later read of
the tail saw was seen by a read counted after that mark, so such a stream is woken at once
instead of waiting for the next event.

Nobody waiting for a while (most instances of a busy site, a benchmark): the tail stops reading,
so commits cost no read per wake-up on every instance. The first stream to wait again starts it
from the log's head, and every stream that waits then reads its own backlog once more (what
went by unread is in their backlogs, never in the tail's).
"""

import asyncio
import logging

from service.db import Outage, Pool, lost_connection
from service.eventstore import store
from service.eventstore.cursors import Cursor
from service.subscriptions.wakeup import Wakeup

log = logging.getLogger("threadlog.tail")

PAGE = 1000
# Without a wake-up: events of transactions that commit while an older one (elsewhere on the
# cluster) still runs show up once that one ends; nothing wakes us then.
FALLBACK_SECONDS = 1.0
# After a wake-up whose events were not visible yet (an older transaction still ran): look
# again this often, this many times, before falling back.
QUICK_SECONDS = 0.05
QUICK_TRIES = 20
RETRY_SECONDS = 0.25
# Which read last saw each topic is kept for this many topics, then forgotten at once: a stream
# whose mark is older than the forgetting reads again rather than waits.
REMEMBERED_TOPICS = 10_000
# Reads stop once no stream has waited for this long (a stream between two waits is not idle).
IDLE_AFTER_SECONDS = 5.0


class LogTail:
    def __init__(
        self, pool: Pool, wakeup: Wakeup, idle_after_seconds: float = IDLE_AFTER_SECONDS
    ) -> None:
        self.pool = pool
        self.wakeup = wakeup
        self.idle_after_seconds = idle_after_seconds
        # When the last stream stopped waiting; and an event set whenever a stream waits.
        self.unwatched_since = 0.0
        self.waited_for = asyncio.Event()
        self.paused = False
        self.resumed = False
        self.cursor: Cursor | None = None
        # Reads completed, and the read that last saw each topic (a site, or a stream id).
        self.reads = 0
        self.seen: dict[str, int] = {}
        self.forgotten = 0
        # Positions of unsettled events whose posts were woken already.
        self.early: set[int] = set()
        self.waiting: dict[str, set[asyncio.Future[None]]] = {}
        self.stopped = False
        self.outage = Outage(log, "the live streams' tail")
        self.task: asyncio.Task[None] | None = None

    def mark(self) -> int:
        """Taken before a stream reads; handed back to `wait` if it found nothing new."""
        return self.reads

    @property
    def waiters(self) -> int:
        return sum(map(len, self.waiting.values()))

    async def wait(self, topic: str, mark: int, seconds: float) -> bool:
        """Wait until an event of `topic` (a site or a stream id) is seen after `mark`, or the
        service stops: True; False after `seconds` without one."""
        if self.stopped or mark < self.forgotten or self.seen.get(topic, -1) > mark:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiters = self.waiting.setdefault(topic, set())
        waiters.add(future)
        self.waited_for.set()
        try:
            await asyncio.wait_for(future, seconds)
        except TimeoutError:
            return False
        finally:
            waiters.discard(future)
            if not waiters and self.waiting.get(topic) is waiters:
                del self.waiting[topic]
                if not self.waiting:
                    self.unwatched_since = loop.time()
        return True

    def stop(self) -> None:
        """Wake every waiting stream for good: the service is shutting down."""
        self.stopped = True
        self.wake_everyone()

    def wake_everyone(self) -> None:
        for waiters in self.waiting.values():
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    async def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def close(self) -> None:
        self.stop()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        quick = 0
        loop = asyncio.get_running_loop()
        self.unwatched_since = loop.time()
        while True:
            if not self.waiting and loop.time() - self.unwatched_since > self.idle_after_seconds:
                await self.idle()
            generation = self.wakeup.generation
            try:
                if self.cursor is None:
                    self.cursor = await store.head(self.pool)
                places = await store.read_places(self.pool, self.cursor, PAGE)
            except Exception as error:
                # Streams wait on this loop: it must outlive anything, and say so once.
                if lost_connection(error):
                    self.outage.lost(error)
                else:
                    log.exception("the live streams' tail failed to read the log; retrying")
                await self.wakeup.wait(generation, RETRY_SECONDS)
                continue
            self.outage.resumed()
            self.reads += 1
            if self.resumed:
                self.resumed = False
                self.forget_all()
            if len(self.seen) > REMEMBERED_TOPICS:
                self.seen.clear()
                self.forgotten = self.reads
            if len(self.early) > REMEMBERED_TOPICS:
                self.early.clear()  # their posts' readers are woken once more when settled
            self.wake(self.topics(places))
            settled = [place for place in places if place.settled]
            if settled:
                self.cursor = settled[-1].cursor
                if len(places) == PAGE:
                    continue
            if settled and len(settled) == len(places):
                quick = 0
            elif quick:
                quick -= 1
            await self.wakeup.wait(generation, QUICK_SECONDS if quick else FALLBACK_SECONDS)
            if self.wakeup.generation != generation:
                quick = QUICK_TRIES

    async def idle(self) -> None:
        """No reads until a stream waits; then from the head of the log."""
        self.paused = True
        self.waited_for.clear()
        await self.waited_for.wait()
        self.paused = False
        self.cursor = None
        self.resumed = True

    def forget_all(self) -> None:
        """After reads stopped: a stream whose mark is older than this read may have missed
        what went by unread, so it reads its backlog again instead of waiting, now or later."""
        self.seen.clear()
        self.early.clear()
        self.forgotten = self.reads
        self.wake_everyone()

    def topics(self, places: list[store.Place]) -> set[str]:
        """What these places wake: a site once its event is settled, a post (its stream id)
        once its event has committed, and only once."""
        topics: set[str] = set()
        for place in places:
            position = place.cursor.position
            if place.settled:
                topics.add(place.site)
                if position in self.early:
                    self.early.discard(position)
                else:
                    topics.add(place.stream_id)
            elif position not in self.early:
                self.early.add(position)
                topics.add(place.stream_id)
        return topics

    def wake(self, topics: set[str]) -> None:
        for topic in topics:
            self.seen[topic] = self.reads
            for future in self.waiting.get(topic, ()):
                if not future.done():
                    future.set_result(None)
