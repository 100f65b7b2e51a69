"""threadlog's own export, imported into an empty deployment, reads byte for byte the same;
erased data stays erased; sealed fields are sealed again with the target's keys; a rebuild
after imports gives the same reads; importing twice adds nothing."""

from pathlib import Path
from typing import Any

import asyncpg

from service.cli.common import connected
from service.ops.imports import ndjson
from service.ops.rebuild import rebuild
from service.settings import Settings
from service.write.application import Application
from tests.builders import Client, SiteKeys, json_body, publish, serving, set_settings
from tests.imports import samples
from tests.imports.conftest import run_import


async def write(client: Client, site: SiteKeys, post_id: str, name: str, **fields: Any) -> str:
    body = {"author": {"name": name, **fields.pop("author", {})}, "body": f"{name} says hi"}
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments", json=body | fields
    )
    created = await json_body(response, 201)
    return str(created["id"])


async def moderate(client: Client, site: SiteKeys, comment_id: str, action: str) -> None:
    url = f"/v1/sites/{site.site}/comments/{comment_id}"
    if action == "delete":
        response = await client.delete(url, headers=site.auth("moderator"))
    else:
        response = await client.post(
            f"{url}/{action}",
            json={"reason": "spam"} if action == "reject" else {},
            headers=site.auth("moderator"),
        )
    assert response.status in (200, 204), await response.text()


async def history(client: Client, site: SiteKeys) -> tuple[list[str], list[str]]:
    """Two posts with labels; a thread three deep; a tombstone; held, approved and rejected
    comments; an erased author; a closed thread. Returns (post ids, comment ids)."""
    first = await publish(client, site, labels=["LinkedIn", "Course"])
    second = await publish(client, site, labels=["linkedin"], published_at="2024-01-02T03:04:05Z")
    top = await write(client, site, first, "Ann", author={"website": "https://ann.example/"})
    reply = await write(client, site, first, "Bob", parent_id=top)
    deep = await write(client, site, first, "Cy", parent_id=reply)
    gone = await write(client, site, first, "Dee")
    await write(client, site, first, "Eve", parent_id=gone)
    await moderate(client, site, gone, "delete")
    erased = await write(client, site, second, "Fay", author={"email": "fay@mail.example"})
    await write(client, site, second, "Gus", parent_id=erased)
    response = await client.post(
        f"/v1/sites/{site.site}/erasures",
        json={"email": "fay@mail.example"},
        headers=site.auth("moderator"),
    )
    await json_body(response, 202)
    await set_settings(client, site, premoderation="all")
    held = await write(client, site, second, "Hal")
    approved = await write(client, site, second, "Ida")
    rejected = await write(client, site, second, "Jon")
    await moderate(client, site, approved, "approve")
    await moderate(client, site, rejected, "reject")
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{second}/close", json={}, headers=site.auth("moderator")
    )
    assert response.status in (200, 204), await response.text()
    return [first, second], [top, reply, deep, gone, erased, held, approved, rejected]


async def reads(client: Client, site: str, posts: list[str], comments: list[str]) -> list[bytes]:
    """Every public read of the site, as the bytes answered (with their status)."""
    base = f"/v1/sites/{site}"
    paths = [f"{base}/labels", f"{base}/labels?sort=count", f"{base}/labels/linkedin/posts"]
    paths.append(f"{base}/counts?" + "&".join(f"post={post}" for post in posts))
    for post in posts:
        paths += [f"{base}/posts/{post}", f"{base}/posts/{post}/comments"]
        paths.append(f"{base}/posts/{post}/comments?sort=newest")
    paths += [f"{base}/comments/{comment}" for comment in comments]
    found = []
    for path in paths:
        response = await client.get(path)
        found.append(f"{path} {response.status} ".encode() + await response.read())
    return found


async def sealed_keys(url: str, site: str) -> set[str]:
    async with connected(url) as connection:
        rows = await connection.fetch(
            """SELECT metadata -> 'private' -> 'sealed' ->> 'key' AS key FROM events
               WHERE site = $1 AND metadata -> 'private' ? 'sealed'""",
            site,
        )
    return {row["key"] for row in rows}


async def test_an_export_imported_into_an_empty_deployment_reads_the_same(
    client: Client,
    site: SiteKeys,
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
    own_database: str,
    tmp_path: Path,
) -> None:
    posts, comments = await history(client, site)
    # Both deployments name one public URL: problems' `type` links name it.
    settings = settings.model_copy(update={"public_url": "https://comments.example"})
    async with serving(settings) as source:
        before = await reads(source, site.site, posts, comments)
    exported = tmp_path / "events.ndjson"
    lines = [line async for line in ndjson.export_lines(pool, site.site)]
    exported.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    assert "fay@mail.example" not in exported.read_text() and '"Fay"' not in exported.read_text()

    target = await asyncpg.create_pool(own_database, min_size=1, max_size=4)
    assert target is not None
    try:
        appended = await ndjson.import_lines(target, ndjson.read_lines(exported), None)
        assert (appended.events, appended.sites) == (len(lines), [site.site])
        again = await ndjson.import_lines(target, ndjson.read_lines(exported), None)
        assert (again.events, again.unchanged) == (0, len(lines))
        async with serving(settings, database_url=own_database) as moved:
            assert await reads(moved, site.site, posts, comments) == before
            # Sealed again, under the target's own keys.
            mine, theirs = (
                await sealed_keys(database_url, site.site),
                await sealed_keys(own_database, site.site),
            )
            assert mine and theirs and not mine & theirs

            # A format import next to it, then a rebuild from the log: the same reads.
            application = Application(target)
            await run_import(application, "blogger", samples.blogger(tmp_path), site.site)
            await application.close()
            every_post = [*posts, "2024-05-first-post", "2024-05-second-post"]
            imported = await reads(moved, site.site, every_post, comments)
            async with connected(own_database) as connection:
                await rebuild(connection)
            assert await reads(moved, site.site, every_post, comments) == imported
    finally:
        await target.close()
