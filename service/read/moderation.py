"""Read-side SQL of moderation: projection tables only, one statement per read."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.db import Connection, Pool
from service.domain.policy import SiteSettings

COMMENT_COLUMNS = """
c.comment_id, c.post_id, c.parent_id, c.author_name, c.author_website, c.body_html,
c.created_at, c.edited_at, c.status, c.status_reason, c.status_at, c.report_count,
c.deleted_by, c.author_key, c.position
"""

COMMENT = f"""
SELECT {COMMENT_COLUMNS}
FROM thread_comments c JOIN posts p ON p.site = c.site AND p.post_id = c.post_id
WHERE c.site = $1 AND c.comment_id = $2 AND NOT p.deleted
"""

QUEUE_STATES = {
    "held": "c.status = 'held'",
    "reported": "c.status = 'published' AND c.report_count > 0",
    "all": "(c.status = 'held' OR (c.status = 'published' AND c.report_count > 0))",
}

# Oldest first: by when the comment got its status (held, or published and then reported).
QUEUE = """
SELECT {columns}
FROM thread_comments c JOIN posts p ON p.site = c.site AND p.post_id = c.post_id
WHERE c.site = $1 AND NOT p.deleted AND {state}
  AND ($2::timestamptz IS NULL OR (c.status_at, c.comment_id) > ($2, $3))
ORDER BY c.status_at, c.comment_id
LIMIT $4
"""

AUDIT = """
SELECT a.position, a.event_id, a.type, a.post_id, a.comment_id, a.actor, a.reason, a.at,
       a.data, c.author_key
FROM moderation_audit a
LEFT JOIN thread_comments c ON c.site = a.site AND c.comment_id = a.comment_id
WHERE a.site = $1
  AND ($2::text IS NULL OR a.comment_id = $2)
  AND ($3::text IS NULL OR c.author_key = $3)
  AND ($4::text IS NULL OR a.actor = $4)
  AND ($5::timestamptz IS NULL OR a.at >= $5)
  AND ($6::timestamptz IS NULL OR a.at < $6)
  AND ($7::bigint IS NULL OR a.position < $7)
ORDER BY a.position DESC
LIMIT $8
"""

BANS = """
SELECT ban_id, match, comment_id, expires_at, reason, created_at, lifted_at FROM bans
WHERE site = $1 ORDER BY created_at DESC, ban_id LIMIT 1000
"""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    comment_id: str | None = None
    author_key: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def comment(pool: Pool, site: str, comment_id: str) -> Any:
    return await pool.fetchrow(COMMENT, site, comment_id)


async def queue(
    pool: Pool, site: str, state: str, after: tuple[datetime, str] | None, limit: int
) -> list[Any]:
    """`limit + 1` rows, to tell whether more follow."""
    query = QUEUE.format(columns=COMMENT_COLUMNS, state=QUEUE_STATES[state])
    moment, comment_id = after if after else (None, None)
    return await pool.fetch(query, site, moment, comment_id, limit + 1)


async def audit(
    pool: Pool, site: str, where: AuditFilter, before: int | None, limit: int
) -> list[Any]:
    return await pool.fetch(
        AUDIT,
        site,
        where.comment_id,
        where.author_key,
        where.actor,
        where.since,
        where.until,
        before,
        limit + 1,
    )


async def bans(pool: Pool, site: str) -> list[Any]:
    return await pool.fetch(BANS, site)


async def ban(pool: Pool, site: str, ban_id: str) -> Any:
    return await pool.fetchrow(
        """SELECT ban_id, match, comment_id, expires_at, reason, created_at, lifted_at
           FROM bans WHERE site = $1 AND ban_id = $2""",
        site,
        ban_id,
    )


async def settings(connection: Connection | Pool, site: str) -> SiteSettings:
    """The site's settings: the defaults until the first change."""
    stored = await connection.fetchval("SELECT settings FROM site_settings WHERE site = $1", site)
    return SiteSettings() if stored is None else SiteSettings.model_validate_json(stored)
