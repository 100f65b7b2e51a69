"""A write whose COMMIT was lost on the way (the connection broke around it) answers 503; the
same request retried with its Idempotency-Key answers the first outcome if it committed, and
writes it once if it did not, even after the database crashed in between."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from aiohttp import ClientResponse

from tests.builders import json_body, thread
from tests.clusters import Cluster
from tests.outages import Private, assert_unavailable, post_comment, private_app, retried
from tests.proxy import Moment, Proxy, proxying

COMMENTS = 8


@asynccontextmanager
async def behind_a_proxy(cluster: Cluster) -> AsyncIterator[tuple[Private, Proxy]]:
    async with proxying(cluster.port) as proxy:
        async for private in private_app(cluster, database_url=proxy.url("threadlog")):
            yield private, proxy


async def lose_a_commit(
    private: Private, proxy: Proxy, moment: Moment
) -> dict[str, ClientResponse]:
    """Post COMMENTS comments at once, each with its own key, losing the first COMMIT."""
    keys = [str(uuid.uuid4()) for _ in range(COMMENTS)]
    proxy.arm(moment)
    answers = await asyncio.gather(*(post_comment(private, key) for key in keys))
    assert proxy.lost == [moment]
    for response in answers:
        if response.status != 201:
            await assert_unavailable(response)
    assert any(response.status == 503 for response in answers)
    return dict(zip(keys, answers, strict=True))


async def retry_and_check(private: Private, first: dict[str, ClientResponse], stored: bool) -> None:
    """Every key retried: one comment each, the lost ones `stored` already or written now."""
    ids = []
    for key, answer in first.items():
        again = await retried(partial(post_comment, private, key))
        body = await json_body(again, 201)
        ids.append(body["id"])
        if answer.status == 201:
            assert body["id"] == (await answer.json())["id"]
            assert again.headers["Idempotent-Replayed"] == "true"
        else:
            assert ("Idempotent-Replayed" in again.headers) == stored
    shown = await thread(private.client, private.site, private.post_id, limit=200)
    assert shown["total"] == COMMENTS
    assert sorted(comment["id"] for comment in shown["comments"]) == sorted(ids)


async def test_a_commit_that_never_arrived_is_written_once_by_the_retry(
    private_cluster: Cluster,
) -> None:
    async with behind_a_proxy(private_cluster) as (private, proxy):
        first = await lose_a_commit(private, proxy, "before")
        await retry_and_check(private, first, stored=False)


async def test_a_commit_whose_answer_was_lost_is_answered_by_the_retry_even_after_a_crash(
    private_cluster: Cluster,
) -> None:
    async with behind_a_proxy(private_cluster) as (private, proxy):
        first = await lose_a_commit(private, proxy, "after")
        private_cluster.restart("immediate")
        await retry_and_check(private, first, stored=True)
