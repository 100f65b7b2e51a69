"""Issue 11, the rendered-thread cache was capped by entries, not bytes: thirty requests with
different `limit`s kept every page of a big thread (274 -> 694 MB). It now holds at most
THREADLOG_CACHE_BYTES of bodies, plain and gzipped counted, and still serves what it holds."""

import random
import string

from service.http.keys import REPRESENTATIONS
from service.http.representations import Representation, RepresentationCache
from service.settings import Settings
from tests.builders import SiteKeys, comment, publish, serving

BUDGET = 512 * 1024


def held_bytes(cache: RepresentationCache) -> int:
    return sum(len(kept.body) + len(kept.gzipped or b"") for kept in cache.entries.values())


async def test_pages_of_every_limit_stay_within_the_byte_budget(
    settings: Settings, site: SiteKeys
) -> None:
    letters = random.Random(11)
    async with serving(settings, cache_bytes=BUDGET) as client:
        post_id = await publish(client, site)
        for _ in range(60):
            # Text that gzip cannot shrink much, as real comments.
            body = "".join(letters.choices(string.ascii_letters + " ", k=5000))
            await comment(client, site, post_id, body)
        path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
        served = 0
        for limit in range(31, 61):
            response = await client.get(path, params={"limit": limit})
            assert response.status == 200
            served += len(await response.read())
        cache = client.app[REPRESENTATIONS]
        # The pages served add up to several times the budget; the cache keeps within it.
        assert served > 10 * BUDGET
        assert held_bytes(cache) <= cache.bytes <= BUDGET
        assert len(cache.entries) >= 1
        # What it kept is served from it: the same bytes again, without a new read.
        newest = next(reversed(cache.entries))
        kept = cache.entries[newest]
        again = await client.get(path, params={"limit": newest[-1]})
        assert await again.read() == kept.body and cache.entries[newest] is kept


def test_a_body_larger_than_the_budget_is_not_kept() -> None:
    cache = RepresentationCache(max_bytes=4096)
    cache.put(("small",), Representation.of(1, b"x" * 100))
    cache.put(("huge",), Representation.of(1, bytes(range(256)) * 64))
    assert list(cache.entries) == [("small",)]
    assert cache.bytes == cache.entries[("small",)].size()


def test_replacing_an_entry_counts_only_the_new_one() -> None:
    cache = RepresentationCache(max_bytes=1 << 20)
    cache.put(("k",), Representation.of(1, b"a" * 2000))
    cache.put(("k",), Representation.of(2, b"b" * 10))
    assert cache.bytes == Representation.of(2, b"b" * 10).size()
    assert cache.get(("k",), 1) is None and cache.get(("k",), 2) is not None


def test_the_least_recently_used_goes_first() -> None:
    entry = Representation.of(1, b"z" * 100)
    cache = RepresentationCache(max_bytes=3 * entry.size())
    for key in ("a", "b", "c"):
        cache.put((key,), entry)
    assert cache.get(("a",), 1) is entry
    cache.put(("d",), entry)
    assert list(cache.entries) == [("c",), ("a",), ("d",)]
