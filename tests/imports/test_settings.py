"""The import's and export's settings: THREADLOG_IMPORT_BATCH_SIZE and THREADLOG_IMPORT_WRITERS
change how the writes are cut into transactions, never what is imported;
THREADLOG_EXPORT_SETTLE_SECONDS bounds how long an ndjson export waits for running transactions;
a bad value is refused in one line before anything is written."""

import argparse
import time
from pathlib import Path

import asyncpg
import pytest

from service.cli.transfer import run_export
from service.ops.imports import core
from service.settings import Settings
from service.write.application import Application
from tests.builders import Client, SiteKeys, make_site, thread, threadlog
from tests.imports import samples
from tests.imports.conftest import READERS, run_import
from tests.imports.test_exports import FIRST, public


async def comment_transactions(pool: asyncpg.Pool, site: str) -> int:
    """How many transactions wrote the site's comments."""
    found: int = await pool.fetchval(
        """SELECT count(DISTINCT transaction_id) FROM events
           WHERE site = $1 AND type IN ('comment.posted', 'comment.replied')""",
        site,
    )
    return found


async def test_a_tiny_batch_and_more_writers_import_the_same_threads(
    tmp_path: Path, application: Application, pool: asyncpg.Pool, client: Client, site: SiteKeys
) -> None:
    path = samples.wordpress(tmp_path)
    usual = await run_import(application, "wordpress", path, site.site)
    other = await make_site(pool)
    items = READERS["wordpress"](path)
    tiny = await core.import_items(
        application, items, form="wordpress", site=other.site, batch_size=1, writers=3
    )
    assert (tiny.posts, tiny.comments) == (usual.posts, usual.comments) == (2, 9)
    assert public((await thread(client, other, FIRST))["comments"]) == public(
        (await thread(client, site, FIRST))["comments"]
    )
    # One comment a transaction; the usual batch takes them in one per writer at most.
    assert await comment_transactions(pool, other.site) == 9
    assert await comment_transactions(pool, site.site) <= core.WRITERS


async def test_the_command_reads_the_batch_and_writers_settings(
    tmp_path: Path,
    database_url: str,
    pool: asyncpg.Pool,
    site: SiteKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THREADLOG_IMPORT_BATCH_SIZE", "2")
    monkeypatch.setenv("THREADLOG_IMPORT_WRITERS", "3")
    path = samples.wordpress(tmp_path)
    done = threadlog(database_url, "import", "wordpress", str(path), "--site", site.site)
    assert done.returncode == 0, done.stderr
    assert "imported 2 posts and 9 comments" in done.stdout
    # Nine comments two at a time: five transactions at least, whichever writer has which.
    assert await comment_transactions(pool, site.site) >= 5


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("THREADLOG_IMPORT_BATCH_SIZE", "0", "THREADLOG_IMPORT_BATCH_SIZE=0 must be at least 1"),
        ("THREADLOG_IMPORT_BATCH_SIZE", "lots", "THREADLOG_IMPORT_BATCH_SIZE=lots is not a whole"),
        ("THREADLOG_IMPORT_WRITERS", "0", "THREADLOG_IMPORT_WRITERS=0 must be at least 1"),
        ("THREADLOG_IMPORT_WRITERS", "100", "THREADLOG_IMPORT_WRITERS=100 must be at most 16"),
        ("THREADLOG_EXPORT_SETTLE_SECONDS", "0", "THREADLOG_EXPORT_SETTLE_SECONDS=0 must be more"),
    ],
)
async def test_a_bad_setting_is_refused_in_one_line_before_anything_is_written(
    tmp_path: Path,
    database_url: str,
    pool: asyncpg.Pool,
    site: SiteKeys,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    says: str,
) -> None:
    monkeypatch.setenv(variable, value)
    path = samples.wordpress(tmp_path)
    done = threadlog(database_url, "import", "wordpress", str(path), "--site", site.site)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr
    assert not await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", site.site)


async def test_an_export_waits_for_running_transactions_no_longer_than_its_setting(
    tmp_path: Path,
    application: Application,
    database_url: str,
    pool: asyncpg.Pool,
    site: SiteKeys,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = argparse.Namespace(format="ndjson", site=site.site, after=None, post=None)
    # A transaction that began before the import and is still running: the log's readers hold
    # back what committed after it began, so the export waits for it to end, or gives up.
    running = await asyncpg.connect(database_url)
    try:
        async with running.transaction():
            await running.fetchval("SELECT pg_current_xact_id()")
            await run_import(application, "isso", samples.isso(tmp_path), site.site)
            capsys.readouterr()
            started = time.monotonic()
            await run_export(database_url, arguments, Settings(export_settle_seconds=0.2))
            # Well short of the 60 s default; nothing of the import is readable yet.
            assert time.monotonic() - started < 10
            assert capsys.readouterr().out == ""
    finally:
        await running.close()
    await run_export(database_url, arguments, Settings())
    assert capsys.readouterr().out.count("\n") > 0
