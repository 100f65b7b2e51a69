"""Tables that grow fast get planner statistics before the plans made for them small go stale."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from service.keys import POOL, SETTINGS
from service.ops import migrate, statistics
from service.projections import threads
from service.settings import Settings
from service.write.application import Application
from tests.builders import META, make_site, post_comment, publish_post, threadlog

FILL = """
INSERT INTO thread_comments (site, comment_id, post_id, parent_id, root_id, ancestors,
                             position, created_at, row_position, status_at)
SELECT 'big', 'c' || n, 'p' || (n % 50), NULL, 'c' || n, '{}', n, now(), n, now()
FROM generate_series($1::int, $2::int) AS n
"""


@pytest.fixture
async def migrated(empty_database: str) -> AsyncIterator[asyncpg.Pool]:
    await asyncio.to_thread(migrate.upgrade, empty_database)
    pool = await asyncpg.create_pool(empty_database, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


async def fill(pool: asyncpg.Pool, first: int, last: int) -> None:
    async with pool.acquire() as connection:
        await connection.execute(FILL, first, last)
        # Counted changes reach the statistics views at most once a second otherwise.
        await connection.execute("SELECT pg_stat_force_next_flush()")
        await connection.execute("SELECT 1")


def scans(plan: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    if plan.get("Relation Name") == "thread_comments":
        yield plan["Node Type"], plan.get("Index Name")
    for child in plan.get("Plans", []):
        yield from scans(child)


async def test_a_plan_made_while_the_table_was_small_is_made_again_once_it_doubled(
    migrated: asyncpg.Pool,
) -> None:
    async with migrated.acquire() as writer:
        # The generic plan, which PostgreSQL may keep after five executions, made at once.
        await writer.execute("SET plan_cache_mode = force_generic_plan")
        await fill(migrated, 1, 20)
        await writer.execute(f"PREPARE parents AS {threads.PARENTS}")
        await writer.fetch("EXECUTE parents('big', ARRAY['c5'])")
        await fill(migrated, 21, 30_000)
        stale = await lookups(writer)
        # Made for 20 rows: each lookup reads the site's rows (a scan, or the threads' index
        # on site alone), and goes on doing so at 30,000.
        assert stale and all(index != "thread_comments_pkey" for _, index in stale)

        assert "thread_comments" in await statistics.analyze_grown(migrated)

        assert await lookups(writer) == [("Index Scan", "thread_comments_pkey")] * 2


async def lookups(connection: asyncpg.Connection) -> list[tuple[str, str | None]]:
    """How the cached plan of `parents` reads thread_comments."""
    found = await connection.fetchval("EXPLAIN (FORMAT JSON) EXECUTE parents('big', ARRAY['c5'])")
    return list(scans(json.loads(found)[0]["Plan"]))


async def test_a_table_is_analyzed_once_it_doubled_since_its_statistics(
    migrated: asyncpg.Pool,
) -> None:
    assert await statistics.analyze_grown(migrated) == []
    await fill(migrated, 1, statistics.MIN_CHANGED_ROWS - 1)
    assert await statistics.analyze_grown(migrated) == []  # too few to matter
    await fill(migrated, statistics.MIN_CHANGED_ROWS, 1500)
    assert await statistics.analyze_grown(migrated) == ["thread_comments"]
    assert await statistics.analyze_grown(migrated) == []
    await fill(migrated, 1501, 2900)  # 1,400 more than the 1,500 it was analyzed with
    assert await statistics.analyze_grown(migrated) == []
    await fill(migrated, 2901, 3000)
    assert await statistics.analyze_grown(migrated) == ["thread_comments"]
    analyzed = await migrated.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = 'thread_comments'::regclass"
    )
    assert analyzed == 3000


async def test_one_process_at_a_time_analyzes(migrated: asyncpg.Pool) -> None:
    await fill(migrated, 1, 2000)
    async with migrated.acquire() as other:
        await other.execute("SELECT pg_advisory_lock($1)", statistics.LOCK)
        assert await statistics.analyze_grown(migrated) == []  # another process is at it
        await other.execute("SELECT pg_advisory_unlock($1)", statistics.LOCK)
    assert await statistics.analyze_grown(migrated) == ["thread_comments"]


async def test_the_service_keeps_them_in_the_background(
    migrated: asyncpg.Pool, settings: Settings
) -> None:
    app = web.Application()
    app[SETTINGS] = settings.model_copy(update={"analyze_seconds": 0.05})
    app[POOL] = migrated
    keeping = statistics.keep_statistics(app)
    await anext(keeping)
    try:
        await fill(migrated, 1, 2000)
        for _ in range(200):
            counted = await migrated.fetchval(
                "SELECT reltuples FROM pg_class WHERE oid = 'thread_comments'::regclass"
            )
            if counted == 2000:
                break
            await asyncio.sleep(0.05)
        assert counted == 2000
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(keeping)


async def test_a_table_another_holds_is_left_for_the_next_turn(migrated: asyncpg.Pool) -> None:
    await fill(migrated, 1, 2000)
    async with migrated.acquire() as other, other.transaction():
        # What a VACUUM, or another ANALYZE, holds.
        await other.execute("LOCK TABLE thread_comments IN SHARE UPDATE EXCLUSIVE MODE")
        await asyncio.wait_for(statistics.analyze_grown(migrated), 5)  # does not wait for it
        counted = await migrated.fetchval(
            "SELECT reltuples FROM pg_class WHERE oid = 'thread_comments'::regclass"
        )
        assert counted == -1  # never analyzed
    assert await statistics.analyze_grown(migrated) == ["thread_comments"]
    counted = await migrated.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = 'thread_comments'::regclass"
    )
    assert counted == 2000


def export_of(site: str, posts: int, comments_each: int) -> dict[str, Any]:
    """A threadlog JSON export of `posts` posts with `comments_each` top-level comments."""

    def comment(post: int, n: int) -> dict[str, Any]:
        return {
            "id": f"c-{post}-{n}",
            "author": {"name": "Ann", "website": None},
            "created_at": f"2024-05-01T08:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "edited_at": None,
            "status": "published",
            "deleted_by": None,
            "body": "text",
            "body_html": "<p>text</p>",
            "replies": [],
        }

    return {
        "format": "threadlog-comments/1",
        "site": site,
        "posts": [
            {
                "id": f"p-{post}",
                "title": "t",
                "url": f"https://blog.example/{post}",
                "labels": [],
                "published_at": "2024-05-01T08:00:00Z",
                "closed": False,
                "comment_count": comments_each,
                "comments": [comment(post, n) for n in range(comments_each)],
            }
            for post in range(posts)
        ],
    }


async def test_an_import_keeps_them_while_it_writes(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_database)
    assert threadlog(empty_database, "sites", "create", "imported").returncode == 0
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export_of("imported", 40, 300)), encoding="utf-8")
    monkeypatch.setenv("THREADLOG_ANALYZE_SECONDS", "0.05")
    monkeypatch.setenv("THREADLOG_LOG_FORMAT", "text")
    done = threadlog(empty_database, "import", "json", str(path), "--site", "imported")
    assert done.returncode == 0, done.stderr
    assert "imported 40 posts and 12000 comments" in done.stdout
    analyzed = [line for line in done.stderr.splitlines() if "threadlog.statistics" in line]
    assert any("thread_comments" in line for line in analyzed), done.stderr


async def test_a_table_gone_since_it_was_listed_is_passed_by(
    migrated: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(migrated, 1, 2000)
    # As if a rebuild's swap dropped a table between the list and its ANALYZE.
    gone = "SELECT 'gone' AS name, 'public.gone' AS qualified WHERE $1::int > 0 UNION ALL "
    monkeypatch.setattr(statistics, "GROWN", gone + statistics.GROWN.replace("ORDER BY", "--"))
    assert await statistics.analyze_grown(migrated) == ["gone", "thread_comments"]
    counted = await migrated.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = 'thread_comments'::regclass"
    )
    assert counted == 2000


async def test_the_log_is_analyzed_without_its_payloads(migrated: asyncpg.Pool) -> None:
    """The events' JSON is never filtered on; its statistics were most of an ANALYZE's cost."""
    site = (await make_site(migrated)).site
    application = Application(migrated)
    await application.execute(publish_post("p", site=site), META)
    for _ in range(20):
        await application.execute(post_comment(site=site, post_id="p"), META)
    async with migrated.acquire() as connection:
        await connection.execute("ANALYZE events")
        kept = await connection.fetch(
            "SELECT attname FROM pg_stats WHERE schemaname = current_schema()"
            " AND tablename = 'events'"
        )
    columns = {row["attname"] for row in kept}
    assert {"position", "stream_id", "site", "type"} <= columns
    assert not columns & {"data", "metadata"}
