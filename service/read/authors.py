"""One person's comments on a site, for their export (GDPR article 20): found by the email
digest they were written with, or proven one by one by their delete tokens."""

import hmac
from typing import Any

from service.db import Pool
from service.domain.errors import WrongDeleteToken
from service.eventstore.cloudevents import format_time

FORMAT = "threadlog-author-export/1"

# A scan of the site's rows, as an erasure's (exports are rare).
BY_EMAIL = """
SELECT comment_id FROM stream_comments
WHERE site = $1 AND email_hash = $2 AND status <> 'erased'
ORDER BY created_at, comment_id
"""

TOKENS = """
SELECT w.comment_id, c.delete_token_sha256
FROM unnest($2::text[]) AS w(comment_id)
CROSS JOIN LATERAL (
    SELECT delete_token_sha256 FROM stream_comments
    WHERE site = $1 AND comment_id = w.comment_id AND status <> 'erased' LIMIT 1
) AS c
"""

DETAILS = """
SELECT t.comment_id, t.post_id, t.parent_id, t.author_name, t.author_website, t.body_html,
       t.status, t.created_at, t.edited_at, p.title, p.url
FROM unnest($2::text[]) WITH ORDINALITY AS w(comment_id, n)
CROSS JOIN LATERAL (
    SELECT * FROM thread_comments WHERE site = $1 AND comment_id = w.comment_id LIMIT 1
) AS t
LEFT JOIN posts p ON p.site = $1 AND p.post_id = t.post_id
ORDER BY w.n
"""


async def by_email(pool: Pool, site: str, email_hash: str) -> list[str]:
    return [row["comment_id"] for row in await pool.fetch(BY_EMAIL, site, email_hash)]


async def proven(pool: Pool, site: str, tokens: list[tuple[str, bytes]]) -> list[str]:
    """The comments whose tokens match, in the order given; a wrong or unknown one refuses all."""
    rows = await pool.fetch(TOKENS, site, [comment_id for comment_id, _ in tokens])
    stored = {row["comment_id"]: row["delete_token_sha256"] for row in rows}
    for comment_id, token_sha256 in tokens:
        found = stored.get(comment_id)
        if found is None or not hmac.compare_digest(found, token_sha256):
            raise WrongDeleteToken(f"a token does not match comment {comment_id!r}")
    return list(dict.fromkeys(comment_id for comment_id, _ in tokens))


async def export(pool: Pool, site: str, comment_ids: list[str]) -> list[dict[str, Any]]:
    rows = await pool.fetch(DETAILS, site, comment_ids) if comment_ids else []
    return [comment(row) for row in rows]


def comment(row: Any) -> dict[str, Any]:
    edited = row["edited_at"]
    return {
        "id": row["comment_id"],
        "post": {"id": row["post_id"], "title": row["title"], "url": row["url"]},
        "parent_id": row["parent_id"],
        "author": {"name": row["author_name"], "website": row["author_website"]},
        "body_html": row["body_html"],
        "status": row["status"],
        "created_at": format_time(row["created_at"]),
        "edited_at": None if edited is None else format_time(edited),
    }
