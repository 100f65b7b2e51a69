"""Readers at the same place share one read; others read their own."""

import asyncio

from service.http.live_pages import Page, SharedPages


async def test_readers_at_the_same_place_share_one_read() -> None:
    pages = SharedPages()
    reads: list[int] = []
    release = asyncio.Event()

    async def read(after: int) -> Page:
        reads.append(after)
        await release.wait()
        return f"after {after}".encode(), after + 1

    same = [pages.read(("post:s:p", 5, 9), lambda: read(5)) for _ in range(100)]
    other = pages.read(("post:s:p", 6, 9), lambda: read(6))
    waiting = asyncio.gather(*same, other)
    await asyncio.sleep(0)
    release.set()
    results = await waiting
    assert sorted(reads) == [5, 6]
    assert results[:100] == [(b"after 5", 6)] * 100 and results[100] == (b"after 6", 7)
    assert pages.reading == {}


async def test_a_reader_that_leaves_does_not_cancel_the_others_read() -> None:
    pages = SharedPages()
    release = asyncio.Event()

    async def read() -> Page:
        await release.wait()
        return b"page", 2

    leaving = asyncio.ensure_future(pages.read(("k", 1, 1), read))
    staying = asyncio.ensure_future(pages.read(("k", 1, 1), read))
    await asyncio.sleep(0)
    leaving.cancel()
    release.set()
    assert await staying == (b"page", 2)
