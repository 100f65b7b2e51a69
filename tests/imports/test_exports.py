"""`threadlog export json` in its documented shape, imported again elsewhere; `threadlog
export ndjson` from a cursor on, and imported into an empty deployment by the CLI."""

import json
from pathlib import Path
from typing import Any

import asyncpg

from service.ops.imports.post_ids import PostIdFrom
from service.write.application import Application
from tests.builders import Client, SiteKeys, make_site, thread, threadlog
from tests.imports import samples
from tests.imports.conftest import run_import

FIRST = "2024-05-first-post"


def public(views: list[dict[str, Any]]) -> list[Any]:
    """A thread without its ids (another site's import has its own)."""
    return [
        (v["author"], v["body_html"], v["created_at"], v["deleted"], public(v["replies"]))
        for v in views
    ]


async def test_a_site_exports_as_json_and_imports_into_another(
    tmp_path: Path,
    application: Application,
    pool: asyncpg.Pool,
    client: Client,
    site: SiteKeys,
    database_url: str,
) -> None:
    await run_import(application, "wordpress", samples.wordpress(tmp_path), site.site)
    done = threadlog(database_url, "export", "json", "--site", site.site)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["format"] == "threadlog-comments/1" and document["site"] == site.site
    first = next(post for post in document["posts"] if post["id"] == FIRST)
    assert (first["title"], first["labels"]) == ("First post", ["LinkedIn", "Course"])
    assert first["url"] == "https://blog.example/2024/05/first-post.html"
    tree = [(c["author"]["name"], c["status"], len(c["replies"])) for c in first["comments"]]
    assert tree == [
        ("Ann", "published", 1),
        ("Dee", "held", 0),
        ("Eve", "rejected", 0),
        ("Fay", "deleted", 1),
        ("Hal", "deleted", 0),
    ]
    ann = first["comments"][0]
    assert ann["created_at"] == "2024-05-02T09:00:00Z"
    assert ann["body"] == "Hello world & all" and "<strong>" not in ann["body_html"]
    assert ann["replies"][0]["replies"][0]["author"]["name"] == "Cy"

    one = threadlog(database_url, "export", "json", "--site", site.site, "--post", FIRST)
    assert [post["id"] for post in json.loads(one.stdout)["posts"]] == [FIRST]

    path = tmp_path / "site.json"
    path.write_text(done.stdout, encoding="utf-8")
    other = await make_site(pool)
    summary = await run_import(application, "json", path, other.site, rule=PostIdFrom.ID)
    assert (summary.posts, summary.comments) == (2, 9)
    assert public((await thread(client, other, FIRST))["comments"]) == public(
        (await thread(client, site, FIRST))["comments"]
    )


async def test_ndjson_exports_after_a_cursor_and_imports_by_the_command_line(
    tmp_path: Path,
    application: Application,
    site: SiteKeys,
    database_url: str,
    own_database: str,
) -> None:
    await run_import(application, "isso", samples.isso(tmp_path), site.site)
    done = threadlog(database_url, "export", "ndjson", "--site", site.site)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    first = json.loads(lines[0])
    assert first["type"] == "post.published" and first["threadlog"]["version"] == 1
    assert all(
        json.loads(line)["threadlog"]["metadata"]["source"] == "import/isso" for line in lines
    )
    after = threadlog(
        database_url, "export", "ndjson", "--site", site.site, "--after", first["cursor"]
    )
    assert after.stdout.splitlines() == lines[1:]

    path = tmp_path / "events.ndjson"
    path.write_text(done.stdout, encoding="utf-8")
    moved = threadlog(own_database, "import", "ndjson", str(path))
    assert moved.returncode == 0, moved.stderr
    assert f"imported {len(lines)} events; 0 were there already" in moved.stdout
    assert f"created site {site.site}" in moved.stdout
    again = threadlog(own_database, "export", "ndjson")
    # The same events, with the import's time added to their metadata.
    assert [json.loads(line)["data"] for line in again.stdout.splitlines()] == [
        json.loads(line)["data"] for line in lines
    ]
