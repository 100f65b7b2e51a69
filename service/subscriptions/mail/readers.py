"""Readers' subscriptions: asking (with a new comment), confirming, unsubscribing.

The address is kept here, in the clear, only for as long as it is needed: an erasure of its
author deletes it with everything it subscribed to and every mail still pending for it (see
write/erasures.py).
"""

from service.db import Pool
from service.subscriptions.mail.feed import Kind

# Asking again after unsubscribing from the site is asking anew; a changed language is kept.
# A confirmation is on its way when one is pending, or was sent since the address last
# bounced and its link still works.
ASK = """
INSERT INTO mail_recipients AS r (site, email_hash, address, language)
VALUES ($1, $2, $3, $4)
ON CONFLICT (site, email_hash) DO UPDATE SET address = excluded.address,
    language = excluded.language, site_unsubscribed_at = NULL
RETURNING confirmed_at IS NOT NULL AS confirmed,
    EXISTS (SELECT 1 FROM mail_outbox o WHERE o.site = $1 AND o.email_hash = $2
            AND o.kind = 'confirm' AND o.state IN ('pending', 'sent')
            AND o.created_at > coalesce(r.bounced_at, '-infinity')
            AND o.created_at > now() - make_interval(days => $5)) AS confirming
"""
SUBSCRIBE = """
INSERT INTO mail_subscriptions (site, comment_id, email_hash, post_id) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
"""
CONFIRMATION = """
INSERT INTO mail_outbox (site, kind, email_hash, address, language) VALUES ($1, $2, $3, $4, $5)
"""


async def subscribe(
    pool: Pool,
    site: str,
    email_hash: str,
    address: str,
    language: str,
    comment_id: str,
    post_id: str,
    link_days: int,
) -> None:
    """Follow replies to `comment_id`; an address not confirmed on the site (never, or not
    since a bounce) is sent a confirmation, unless one is on its way (its link works for
    `link_days`)."""
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(ASK, site, email_hash, address, language, link_days)
        assert row is not None  # an upsert always returns its row
        await connection.execute(SUBSCRIBE, site, comment_id, email_hash, post_id)
        if not row["confirmed"] and not row["confirming"]:
            await connection.execute(
                CONFIRMATION, site, Kind.CONFIRM, email_hash, address, language
            )


async def confirm(pool: Pool, site: str, email_hash: str) -> bool:
    found = await pool.fetchval(
        "UPDATE mail_recipients SET confirmed_at = now(), bounced_at = NULL "
        "WHERE site = $1 AND email_hash = $2 RETURNING 1",
        site,
        email_hash,
    )
    return found is not None


async def unsubscribe_thread(pool: Pool, site: str, email_hash: str, post_id: str) -> None:
    await pool.execute(
        "DELETE FROM mail_subscriptions WHERE site = $1 AND email_hash = $2 AND post_id = $3",
        site,
        email_hash,
        post_id,
    )


async def unsubscribe_site(pool: Pool, site: str, email_hash: str) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "UPDATE mail_recipients SET site_unsubscribed_at = now() "
            "WHERE site = $1 AND email_hash = $2",
            site,
            email_hash,
        )
        await connection.execute(
            "DELETE FROM mail_subscriptions WHERE site = $1 AND email_hash = $2", site, email_hash
        )
        await connection.execute(
            "UPDATE mail_outbox SET state = 'dropped' "
            "WHERE site = $1 AND email_hash = $2 AND state = 'pending'",
            site,
            email_hash,
        )
