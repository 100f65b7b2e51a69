"""Each format's sample imported into a fresh site, and read back through the public API:
threads, labels, statuses, dates, idempotence, and the metadata every imported event carries."""

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.write.application import Application
from tests.builders import Client, SiteKeys, json_body, thread
from tests.imports import samples
from tests.imports.conftest import run_import

FIRST, SECOND = "2024-05-first-post", "2024-05-second-post"
WRITERS = {
    "blogger": samples.blogger,
    "wordpress": samples.wordpress,
    "disqus": samples.disqus,
    "isso": samples.isso,
}
# What each format can say: labels, a held comment, a spam comment.
LABELS = {"blogger", "wordpress"}
HELD = {"blogger", "wordpress", "isso"}
SPAM = {"blogger", "wordpress", "disqus"}


def shape(comments: list[dict[str, Any]]) -> list[Any]:
    """A thread as (author or tombstone, replies) pairs."""
    return [
        (
            (c["author"] or {}).get("name") if c["deleted"] is None else "deleted",
            shape(c["replies"]),
        )
        for c in comments
    ]


async def events_of(pool: asyncpg.Pool, site: str) -> list[Any]:
    return await pool.fetch(
        "SELECT event_id, type, data, metadata, recorded_at FROM events WHERE site = $1"
        " ORDER BY position",
        site,
    )


@pytest.mark.parametrize("form", sorted(WRITERS))
async def test_a_sample_imports_with_its_threads_statuses_and_dates(
    form: str,
    tmp_path: Path,
    application: Application,
    pool: asyncpg.Pool,
    client: Client,
    site: SiteKeys,
) -> None:
    path = WRITERS[form](tmp_path)
    summary = await run_import(application, form, path, site.site)
    assert summary.posts == 2
    first = await thread(client, site, FIRST)
    assert shape(first["comments"]) == [
        ("Ann", [("Bob", [("Cy", [])])]),
        ("deleted", [("Gus", [])]),
    ]
    ann = first["comments"][0]
    assert ann["created_at"] == "2024-05-02T09:00:00Z"
    assert "world" in ann["body_html"]
    assert "<script" not in ann["body_html"]
    if form != "disqus":
        assert ann["author"]["website"] == "https://ann.example/"
    assert first["total"] == 4
    second = await thread(client, site, SECOND)
    assert shape(second["comments"]) == [("Ann", [])]

    post = await json_body(await client.get(f"/v1/sites/{site.site}/posts/{FIRST}"), 200)
    assert post["title"] == "First post"
    labels = await json_body(await client.get(f"/v1/sites/{site.site}/labels"), 200)
    found = {label["label"]: label["post_count"] for label in labels["labels"]}
    assert found == ({"LinkedIn": 2, "Course": 1} if form in LABELS else {})

    queue = await json_body(
        await client.get(f"/v1/sites/{site.site}/moderation/queue", headers=site.auth("moderator")),
        200,
    )
    held = [c["author"]["name"] for c in queue["comments"]]
    assert held == (["Dee"] if form in HELD else [])

    events = await events_of(pool, site.site)
    posted = [e for e in events if e["type"] in ("comment.posted", "comment.replied")]
    assert all('"source": "import/' + form + '"' in e["metadata"] for e in events)
    assert all('"source_id": "' in e["metadata"] for e in events)
    # Names and bodies are sealed in the log, as a reader's are.
    assert not [e for e in events if "Hello" in e["data"] + e["metadata"]]
    assert len(posted) == summary.comments
    if form in SPAM:
        assert any(e["type"] == "comment.rejected" for e in events)

    again = await run_import(application, form, path, site.site)
    assert (again.posts, again.comments) == (0, 0)
    assert again.unchanged == summary.posts + summary.comments
    assert await events_of(pool, site.site) == events
    assert await thread(client, site, FIRST) == first


async def test_original_dates_are_kept_and_the_import_time_recorded(
    tmp_path: Path, application: Application, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    await run_import(application, "wordpress", samples.wordpress(tmp_path), site.site)
    row = await pool.fetchrow(
        """SELECT data, recorded_at FROM events
           WHERE site = $1 AND type = 'comment.posted' ORDER BY data ->> 'created_at' LIMIT 1""",
        site.site,
    )
    assert row is not None
    assert '"created_at": "2024-05-02T09:00:00Z"' in row["data"]
    assert row["recorded_at"].year >= 2025


async def test_a_dry_run_reads_and_counts_but_writes_nothing(
    tmp_path: Path, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    summary = await run_import(None, "blogger", samples.blogger(tmp_path), site.site)
    assert (summary.posts, summary.comments) == (2, len(samples.COMMENTS))
    assert await events_of(pool, site.site) == []
