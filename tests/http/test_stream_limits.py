"""Live streams are capped per client address and in total (issue 11, row 2): anonymous readers
once opened as many as they liked. Past a client's cap a new stream is answered 429, past the
service's 503, both problem+json with Retry-After; a stream that ends gives its slot back."""

import contextlib

import aiohttp

from service.http.keys import STREAM_SLOTS
from service.settings import Settings
from tests.builders import Client, SiteKeys, publish, serving
from tests.http.test_stream import take
from tests.waiting import wait_until


def live_path(site: SiteKeys, post_id: str) -> str:
    return f"/v1/sites/{site.site}/posts/{post_id}/comments/stream"


async def refused(response: aiohttp.ClientResponse, status: int) -> None:
    assert response.status == status, await response.text()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    problem = await response.json()
    assert problem["type"].endswith("/problems/too-many-streams") and problem["status"] == status


async def opened(streams: contextlib.AsyncExitStack, own: Client, path: str, **kw: object) -> None:
    response = await streams.enter_async_context(own.get(path, **kw))  # type: ignore[arg-type]
    assert response.status == 200
    if "events/stream" not in path:
        await take(response, 1)  # the `ready` message: the stream holds its slot


async def test_a_client_past_its_cap_is_answered_429_until_a_stream_ends(
    settings: Settings, site: SiteKeys
) -> None:
    async with serving(settings, max_streams_per_client=3) as own:
        post_id = await publish(own, site)
        keyed = {"headers": site.auth("subscriber")}
        async with contextlib.AsyncExitStack() as streams:
            await opened(streams, own, live_path(site, post_id))
            await opened(streams, own, "/v1/events/stream", **keyed)
            async with contextlib.AsyncExitStack() as last:
                await opened(last, own, live_path(site, post_id))
                await refused(await own.get(live_path(site, post_id)), 429)
                await refused(await own.get("/v1/events/stream", **keyed), 429)  # type: ignore[arg-type]
                assert own.app[STREAM_SLOTS].count == 3

            async def given_back() -> bool:
                return own.app[STREAM_SLOTS].count == 2

            await wait_until(given_back, "the closed stream's slot")
            await opened(streams, own, "/v1/events/stream", **keyed)
        # Everything else is still answered.
        assert (await own.get(f"/v1/sites/{site.site}/posts/{post_id}/comments")).status == 200


async def test_past_the_services_cap_a_stream_is_answered_503(
    settings: Settings, site: SiteKeys
) -> None:
    async with serving(settings, max_streams=2) as own:
        post_id = await publish(own, site)
        async with contextlib.AsyncExitStack() as streams:
            await opened(streams, own, live_path(site, post_id))
            await opened(streams, own, live_path(site, post_id))
            await refused(await own.get(live_path(site, post_id)), 503)
