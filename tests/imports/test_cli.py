"""`threadlog import` as an operator runs it: the summary, --dry-run, hostile XML refused
with nothing appended, bad files and unknown sites said in one line."""

from pathlib import Path

import asyncpg
import pytest

from tests.builders import SiteKeys, threadlog
from tests.imports import samples

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol4;</title></entry></feed>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&secret;</title>
</item></channel></rss>
"""


async def count_events(pool: asyncpg.Pool, site: str) -> int:
    found: int = await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", site)
    return found


@pytest.mark.parametrize(
    ("form", "document"), [("blogger", BILLION_LAUGHS), ("wordpress", EXTERNAL_ENTITY)]
)
async def test_hostile_xml_is_refused_and_nothing_is_appended(
    form: str,
    document: str,
    tmp_path: Path,
    database_url: str,
    pool: asyncpg.Pool,
    site: SiteKeys,
) -> None:
    # Refused at the document type declaration, before any entry is read.
    path = tmp_path / "hostile.xml"
    path.write_text(document, encoding="utf-8")
    done = threadlog(database_url, "import", form, str(path), "--site", site.site)
    assert done.returncode != 0
    assert "refused: DTDForbidden" in done.stderr
    assert "Traceback" not in done.stderr
    assert await count_events(pool, site.site) == 0


async def test_a_file_broken_half_way_appends_nothing(
    tmp_path: Path, database_url: str, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    whole = samples.wordpress(tmp_path).read_text(encoding="utf-8")
    path = tmp_path / "broken.xml"
    path.write_text(whole[: len(whole) * 3 // 4], encoding="utf-8")
    done = threadlog(database_url, "import", "wordpress", str(path), "--site", site.site)
    assert done.returncode != 0
    assert "not well-formed XML" in done.stderr
    assert await count_events(pool, site.site) == 0


async def test_the_summary_counts_and_a_dry_run_writes_nothing(
    tmp_path: Path, database_url: str, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    path = samples.wordpress(tmp_path)
    dry = threadlog(
        database_url, "import", "wordpress", str(path), "--site", site.site, "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "would import 2 posts and 9 comments" in dry.stdout
    assert await count_events(pool, site.site) == 0
    done = threadlog(database_url, "import", "wordpress", str(path), "--site", site.site)
    assert done.returncode == 0, done.stderr
    assert "imported 2 posts and 9 comments" in done.stdout
    again = threadlog(database_url, "import", "wordpress", str(path), "--site", site.site)
    assert "imported 0 posts and 0 comments" in again.stdout
    assert "already imported (unchanged): 11" in again.stdout


async def test_an_unknown_site_or_a_missing_file_is_one_line(
    tmp_path: Path, database_url: str
) -> None:
    path = samples.disqus(tmp_path)
    unknown = threadlog(database_url, "import", "disqus", str(path), "--site", "no-such-site")
    assert unknown.returncode != 0
    assert "no-such-site" in unknown.stderr and "Traceback" not in unknown.stderr
    missing = threadlog(database_url, "import", "disqus", str(tmp_path / "nope.xml"), "--site", "x")
    assert missing.returncode != 0
    assert "no such file" in missing.stderr
