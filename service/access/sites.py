"""Looking up sites, with a short cache: every write needs its site's salt."""

import time
from dataclasses import dataclass

from service.db import Pool

CACHE_SECONDS = 30.0

SITE = """
SELECT site, title, origins, ip_salt,
       (SELECT (settings ->> 'rate_limit_per_minute')::int FROM site_streams s
        WHERE s.site = sites.site) AS rate_limit_per_minute,
       (SELECT (settings ->> 'edit_window_minutes')::int FROM site_streams s
        WHERE s.site = sites.site) AS edit_window_minutes
FROM sites WHERE site = $1
"""


@dataclass(frozen=True, slots=True)
class Site:
    site: str
    title: str
    origins: tuple[str, ...]
    ip_salt: bytes
    # The site's own comment rate limit (None: the server's default). Kept with the site so a
    # comment pays no lookup for it; a change made elsewhere applies within CACHE_SECONDS.
    rate_limit_per_minute: int | None = None
    # How long authors may edit (None: the default); the widget is told when a comment's ends.
    edit_window_minutes: int | None = None


class SiteDirectory:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.cache: dict[str, tuple[float, Site]] = {}

    async def get(self, site: str) -> Site | None:
        cached = self.cache.get(site)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        row = await self.pool.fetchrow(SITE, site)
        if row is None:
            return None
        found = Site(
            row["site"],
            row["title"],
            tuple(row["origins"]),
            row["ip_salt"],
            row["rate_limit_per_minute"],
            row["edit_window_minutes"],
        )
        self.cache[site] = (time.monotonic() + CACHE_SECONDS, found)
        return found

    def forget(self, site: str) -> None:
        """Read the site again next time (its settings changed in this process)."""
        self.cache.pop(site, None)
