"""IP digests are kept a number of days: then their day's key is destroyed, the write side's
rows forget them as a replay would, and everything else of the comment stays."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from service.eventstore import data_keys, store
from service.eventstore.cursors import START
from service.ops.rebuild import rebuild
from service.ops.retention import forget_old_ip_digests
from service.ops.status import status
from service.settings import Settings
from tests.builders import json_body, make_site, publish, serving, thread

COLUMNS = "comment_id, ip_hash, ip_day, reporters, reporter_days, email_hash, name_ip_hash"


async def test_old_ip_digests_are_forgotten_and_a_rebuild_agrees(
    own_database: str,
    tmp_path: Path,
) -> None:
    suite = data_keys.current()
    settings = Settings(database_url=own_database, data_dir=tmp_path)
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=4)
    try:
        site = await make_site(pool)
        async with serving(settings) as client:
            post_id = await publish(client, site)
            payload = {"author": {"name": "Kept", "email": "kept@mail.example"}, "body": "hi"}
            created = await json_body(
                await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload),
                201,
            )
            report = await client.post(
                f"/v1/sites/{site.site}/comments/{created['id']}/reports", json={"reason": "spam"}
            )
            assert report.status == 202
            shown = await thread(client, site, post_id)
        row = await pool.fetchrow(
            f"SELECT {COLUMNS} FROM stream_comments WHERE site = $1", site.site
        )
        assert row["ip_hash"] and row["reporters"] and row["reporter_days"] == [row["ip_day"]]

        today = datetime.now(UTC).date()
        not_yet = await forget_old_ip_digests(pool, 30, today=today)
        assert not_yet.ran and not_yet.days == []
        later = await forget_old_ip_digests(pool, 1, today=today + timedelta(days=2))
        assert later.days == [data_keys.day_key_id(today)]

        after = await pool.fetchrow(
            f"SELECT {COLUMNS} FROM stream_comments WHERE site = $1", site.site
        )
        assert (
            after["ip_hash"] is None and after["reporters"] == [] and after["reporter_days"] == []
        )
        assert after["email_hash"] == row["email_hash"] and after["ip_day"] == row["ip_day"]
        async with pool.acquire() as connection:
            events = await store.read_all(connection, START, 100, site=site.site)
            await rebuild(connection)
            reported = await status(connection)
        rebuilt = await pool.fetchrow(
            f"SELECT {COLUMNS} FROM stream_comments WHERE site = $1", site.site
        )
        assert dict(rebuilt) == dict(after)
        posted = next(e for e in events if e.type == "comment.posted")
        assert posted.event.author_ip_hash is None  # type: ignore[attr-defined]
        assert posted.data["author"]["name"] == "Kept"  # the author's own key stays
        async with serving(settings) as client:
            assert await thread(client, site, post_id) == shown
        assert reported["privacy"]["ip_days_kept"] == 0
    finally:
        await pool.close()
        data_keys.install(suite)
