"""Sites as an operator sees them (`threadlog sites list`, `sites show`): their details,
settings, allowed origins and how much each holds."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.access.credentials import UnknownSite
from service.db import Connection, Pool
from service.read import moderation as moderation_reads

LISTING = """
SELECT s.site, s.title, s.origins, s.created_at,
       (SELECT count(*) FROM api_keys k WHERE k.site = s.site AND k.revoked_at IS NULL)
           AS active_keys
FROM sites s ORDER BY s.site
"""

# One site's counts, each from an index on (site, ...) of its table: a site's rows only.
COUNTS = """
SELECT
    (SELECT count(*) FROM posts WHERE site = $1 AND NOT deleted) AS posts,
    (SELECT coalesce(sum(comment_count), 0) FROM posts WHERE site = $1 AND NOT deleted)
        AS published_comments,
    (SELECT count(*) FROM thread_comments WHERE site = $1 AND status = 'held') AS held_comments,
    (SELECT count(*) FROM api_keys WHERE site = $1 AND revoked_at IS NULL) AS active_keys,
    (SELECT count(*) FROM api_keys WHERE site = $1 AND revoked_at IS NOT NULL) AS revoked_keys,
    (SELECT count(*) FROM webhooks WHERE site = $1) AS webhooks
"""


@dataclass(frozen=True, slots=True)
class SiteSummary:
    site: str
    title: str
    origins: tuple[str, ...]
    created_at: datetime
    active_keys: int


async def list_sites(connection: Connection | Pool) -> list[SiteSummary]:
    rows = await connection.fetch(LISTING)
    return [
        SiteSummary(
            row["site"], row["title"], tuple(row["origins"]), row["created_at"], row["active_keys"]
        )
        for row in rows
    ]


async def show_site(connection: Connection | Pool, site: str) -> dict[str, Any]:
    """Everything `sites show` prints, as JSON-ready values; UnknownSite when there is none."""
    row = await connection.fetchrow(
        "SELECT site, title, origins, created_at FROM sites WHERE site = $1", site
    )
    if row is None:
        raise UnknownSite(site)
    counts = await connection.fetchrow(COUNTS, site)
    settings = await moderation_reads.settings(connection, site)
    return {
        "site": row["site"],
        "title": row["title"],
        "created_at": row["created_at"].isoformat(),
        "origins": list(row["origins"]),
        "settings": settings.model_dump(mode="json"),
        "counts": dict(counts or {}),
    }
