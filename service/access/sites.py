"""Looking up sites, with a short cache: every write needs its site's salt.

A change to a site (its origins, its settings) sends NOTIFY on CHANNEL with the site's name
after it commits, and every process's wake-up connection forgets that site: the change applies
everywhere at once. The cache's TTL is the fallback when a notice is lost.
"""

import time
from dataclasses import dataclass

from service.db import Pool

CACHE_SECONDS = 30.0
CHANNEL = "threadlog_sites"
# Run in the transaction that changes a site: PostgreSQL delivers it once that commits.
NOTIFY_CHANGED = "SELECT pg_notify('threadlog_sites', $1)"

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
    # comment pays no lookup for it; a change made elsewhere is announced on CHANNEL.
    rate_limit_per_minute: int | None = None
    # How long authors may edit (None: the default); the widget is told when a comment's ends.
    edit_window_minutes: int | None = None


class SiteDirectory:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.cache: dict[str, tuple[float, Site]] = {}
        # Counts the notices heard: a lookup that a notice overtook does not keep its answer.
        self.changes = 0

    async def get(self, site: str) -> Site | None:
        cached = self.cache.get(site)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        changes = self.changes
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
        if changes == self.changes:
            self.cache[site] = (time.monotonic() + CACHE_SECONDS, found)
        return found

    def forget(self, site: str) -> None:
        """Read the site again next time (its settings changed in this process)."""
        self.cache.pop(site, None)

    def heard(self, site: str | None) -> None:
        """A notice that `site` changed; None: notices may have been lost, forget every site."""
        self.changes += 1
        if site is None:
            self.cache.clear()
        else:
            self.forget(site)
