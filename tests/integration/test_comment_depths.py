"""The write side's depth of a new comment: its parent's plus one, whether the parent came
before this run of comments or in it; a missing parent (an import's orphan) counts as the top."""

from datetime import UTC, datetime

import asyncpg

from service.projections import stream_comments
from tests.builders import make_site

AT = datetime(2026, 3, 1, tzinfo=UTC)


def row(site: str, comment_id: str, parent_id: str | None) -> tuple[object, ...]:
    """What stream_comments.new_comment_row makes of a comment (or a reply to `parent_id`)."""
    without_parent = 0 if parent_id is None else 1
    hashes = (None, None, f"author-{comment_id}")
    return (site, comment_id, "p", parent_id, without_parent, None, AT, *hashes, 1, None, None)


async def depths(pool: asyncpg.Pool, site: str) -> dict[str, int]:
    rows = await pool.fetch("SELECT comment_id, depth FROM stream_comments WHERE site = $1", site)
    return {found["comment_id"]: found["depth"] for found in rows}


async def test_depths_count_from_the_parent_wherever_it_came_from(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    async with pool.acquire() as connection:
        await stream_comments.insert_comments(
            connection, [row(site, "a", None), row(site, "b", "a")]
        )
        await stream_comments.insert_comments(
            connection,
            [
                row(site, "c", "b"),  # below a comment of an earlier run
                row(site, "d", "c"),  # below one of this run
                row(site, "e", "missing"),  # an orphan: at the top
                row(site, "f", "e"),
                row(site, "g", None),
                row(site, "c", "g"),  # the log holds c twice: the first one stands
                row(site, "h", "c"),
            ],
        )
    assert await depths(pool, site) == {
        "a": 0, "b": 1, "c": 2, "d": 3, "e": 1, "f": 2, "g": 0, "h": 3,
    }  # fmt: skip
