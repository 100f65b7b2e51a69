"""Looking up sites, with a short cache: every write needs its site's salt."""

import time
from dataclasses import dataclass

from service.db import Pool

CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Site:
    site: str
    title: str
    origins: tuple[str, ...]
    ip_salt: bytes


class SiteDirectory:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.cache: dict[str, tuple[float, Site]] = {}

    async def get(self, site: str) -> Site | None:
        cached = self.cache.get(site)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        row = await self.pool.fetchrow(
            "SELECT site, title, origins, ip_salt FROM sites WHERE site = $1", site
        )
        if row is None:
            return None
        found = Site(row["site"], row["title"], tuple(row["origins"]), row["ip_salt"])
        self.cache[site] = (time.monotonic() + CACHE_SECONDS, found)
        return found
