"""Recent comments and a group's reads stay cheap whatever the tables hold: on tables of
realistic size (analyzed), each read touches about its page of rows per site, never the rest
(counted from EXPLAIN ANALYZE's row counts, not timed)."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from service.read import groups, recent
from tests.conftest import migrated_database

ROWS = 200_000
SITES = 20
LIMIT = 10


def fill_sql(rows: int) -> str:
    """`rows` comments spread over sites, posts and times, a tenth of them not published; a few
    posts deleted; every site in one group; labels on every post."""
    return f"""
INSERT INTO posts (site, post_id, title, url, labels, published_at, position, deleted)
SELECT 's' || (n % {SITES}), 'p' || n, 't', 'https://blog.example/' || n, '{{x}}',
       now() - n * interval '1 minute', n, n % 97 = 0
FROM generate_series(1, {rows // 20}) AS n;
INSERT INTO thread_comments (site, comment_id, post_id, parent_id, root_id, ancestors, position,
                             author_name, body_html, created_at, row_position, status_at, status)
SELECT 's' || (p % {SITES}), 'c' || n, 'p' || p, NULL, 'c' || n, '{{}}', n, 'Ann', '<p>hi</p>',
       now() - (n % 100000) * interval '1 second', n, now(),
       CASE WHEN n % 10 = 0 THEN 'held' ELSE 'published' END
FROM generate_series(1, {rows}) AS n, LATERAL (SELECT (n % {rows // 20}) + 1 AS p) AS post;
INSERT INTO label_posts (site, label_key, post_id, label, published_at)
SELECT 's' || (n % {SITES}), 'l' || (n % 50), 'p' || n, 'L', now() - n * interval '1 minute'
FROM generate_series(1, {rows // 20}) AS n;
INSERT INTO labels (site, label_key, label, post_count)
SELECT 's' || s, 'l' || l, 'L', 1 FROM generate_series(0, {SITES - 1}) AS s,
       generate_series(0, 49) AS l;
INSERT INTO groups (group_name, version, last_epoch, last_transaction_id, created_at)
VALUES ('all', 1, 1, '1', now());
INSERT INTO group_sites (group_name, site, added_at)
SELECT 'all', 's' || s, now() FROM generate_series(0, {SITES - 1}) AS s;
"""


@pytest.fixture(scope="module")
def filled(admin_url: str) -> Iterator[str]:
    """A database of its own with the tables filled (kept for this module's tests)."""

    async def fill(url: str) -> None:
        connection = await asyncpg.connect(url)
        try:
            for statement in fill_sql(ROWS).split(";\n"):
                if statement.strip():
                    await connection.execute(statement)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()

    with migrated_database(admin_url, "threadlog_recent") as url:
        asyncio.run(fill(url))
        yield url


@pytest.fixture
async def connection(filled: str) -> AsyncIterator[asyncpg.Connection]:
    opened = await asyncpg.connect(filled)
    try:
        yield opened
    finally:
        await opened.close()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def rows_read(connection: asyncpg.Connection, sql: str, *arguments: object) -> int:
    """The rows every scan of the statement's plan produced, in all its loops."""
    found = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *arguments)
    plan = json.loads(found)[0]["Plan"]
    return sum(
        int(node["Actual Rows"] * node["Actual Loops"])
        for node in nodes(plan)
        if "Scan" in node["Node Type"]
    )


async def test_a_sites_recent_comments_read_about_a_page(connection: asyncpg.Connection) -> None:
    read = await rows_read(connection, recent.SITES, ["s3"], LIMIT)
    # The page, the posts it joins, and the held comments the index leaves out anyway.
    assert read <= 4 * LIMIT, read
    assert len(await recent.of_sites(connection, ["s3"], LIMIT)) == LIMIT


async def test_a_groups_recent_comments_read_about_a_page_per_site(
    connection: asyncpg.Connection,
) -> None:
    sites = [f"s{n}" for n in range(SITES)]
    read = await rows_read(connection, recent.SITES, sites, LIMIT)
    assert read <= 4 * LIMIT * SITES + SITES, read
    found = await recent.of_sites(connection, sites, LIMIT)
    assert [row["created_at"] for row in found] == sorted(
        (row["created_at"] for row in found), reverse=True
    )


async def test_a_groups_label_reads_stay_small(connection: asyncpg.Connection) -> None:
    read = await rows_read(connection, groups.LABEL_POSTS, "all", "l7", LIMIT)
    assert read <= 4 * LIMIT * SITES + SITES, read
    read = await rows_read(connection, groups.LABELS, "all")
    assert read <= 4 * 50 * SITES + SITES, read


async def test_a_posts_feed_reads_about_its_page(connection: asyncpg.Connection) -> None:
    read = await rows_read(connection, recent.POST, "s3", "p3", LIMIT)
    assert read <= 4 * LIMIT, read
