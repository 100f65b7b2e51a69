"""The live streams' tail stops reading the log while no stream waits (every commit cost a
read on every instance before, streams or not), and streams lose nothing by it."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from service.eventstore.streams import post_stream_id
from service.keys import LOG_TAIL
from service.settings import Settings
from service.subscriptions.tail import LogTail
from tests.builders import Client, SiteKeys, comment, publish, serving
from tests.http.test_stream import take
from tests.waiting import wait_until

IDLE_SECONDS = 0.2


@pytest.fixture
async def idle_service(
    settings: Settings, site: SiteKeys
) -> AsyncIterator[tuple[Client, str, LogTail]]:
    """A served app with a published post, whose tail has stopped reading."""
    async with serving(settings) as client:
        post_id = await publish(client, site)
        tail = client.app[LOG_TAIL]
        tail.idle_after_seconds = IDLE_SECONDS

        async def stopped_reading() -> bool:
            return tail.paused

        await wait_until(stopped_reading, "the tail to stop reading")
        yield client, post_id, tail


async def test_no_reads_while_nobody_waits_and_a_stream_still_gets_everything(
    idle_service: tuple[Client, str, LogTail], site: SiteKeys
) -> None:
    client, post_id, tail = idle_service
    reads = tail.reads
    before = [(await comment(client, site, post_id, f"before {n}"))["id"] for n in range(3)]
    await asyncio.sleep(IDLE_SECONDS * 3)
    assert tail.reads == reads and tail.paused

    path = f"/v1/sites/{site.site}/posts/{post_id}/comments/stream?after=1"
    async with client.get(path) as response:
        assert response.status == 200
        ready, *backlog = await take(response, 4)
        after = (await comment(client, site, post_id, "after"))["id"]
        live = await take(response, 1)
    assert not tail.paused and tail.reads > reads
    assert ready["event"] == "ready"
    ids = [json.loads(message["data"])["id"] for message in [*backlog, *live]]
    assert ids == [*before, after]


async def test_a_stream_that_read_before_reads_again_once_the_tail_resumes(
    idle_service: tuple[Client, str, LogTail], site: SiteKeys
) -> None:
    client, post_id, tail = idle_service
    # A stream read its backlog (this mark), then a comment committed before it waited:
    # the tail, starting again from the head, never reads that comment, so the stream
    # must be sent back to its backlog rather than left waiting for the next event.
    mark = tail.mark()
    await comment(client, site, post_id, "between the read and the wait")
    woken = await tail.wait(post_stream_id(site.site, post_id), mark, 10)
    assert woken
    # Once read again (a mark of its read after the resume), it waits for new events only.
    assert not await tail.wait(post_stream_id(site.site, post_id), tail.mark(), 0.3)
