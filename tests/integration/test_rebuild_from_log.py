"""The log is the only truth: every model, the write side's decision state included, dropped and
rebuilt from the events alone, and old comments behave exactly as before."""

from typing import Any

import asyncpg

from service.ops.rebuild import rebuild
from service.projections import INLINE, write_model
from tests.builders import Client, SiteKeys, publish, thread


async def post(client: Client, site: SiteKeys, post_id: str, **payload: Any) -> dict[str, Any]:
    payload = {"author": {"name": "Ann"}, "body": "hello"} | payload
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


# The site's rows of every table of the decision state.
OF_SITE = {
    "streams": "stream_id LIKE 'post:' || $1 || ':%'",
    "stream_comments": "site = $1",
    "site_streams": "stream_id = 'site:' || $1",
    "site_bans": "site = $1",
    "site_known_authors": "site = $1",
}


async def decision_state(pool: asyncpg.Pool, site: str) -> dict[str, list[tuple[Any, ...]]]:
    assert set(OF_SITE) == set(write_model.TABLES)
    return {
        table: [
            tuple(row)
            for row in await pool.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY 1, 2", site)
        ]
        for table, where in OF_SITE.items()
    }


async def author_key(client: Client, site: SiteKeys, comment_id: str) -> str | None:
    """Who wrote the comment, as moderators see it (the audit log filters by it)."""
    url = f"/v1/sites/{site.site}/comments/{comment_id}"
    response = await client.get(url, headers=site.auth("moderator"))
    assert response.status == 200, await response.text()
    key: str | None = (await response.json())["author_key"]
    return key


async def test_everything_dropped_and_rebuilt_from_the_log_behaves_as_before(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    moderator = site.auth("moderator")
    settings = {"rate_limit_per_minute": 0, "report_threshold": 2}
    settings_url = f"/v1/sites/{site.site}/settings"
    changed = await client.patch(settings_url, json=settings, headers=moderator)
    assert changed.status == 200, await changed.text()
    post_id = await publish(client, site)
    first = await post(client, site, post_id, author={"name": "Ann", "email": "ann@example.org"})
    reply = await post(client, site, post_id, parent_id=first["id"], body="a reply")
    spammer = await post(client, site, post_id, author={"name": "Eve", "email": "eve@example.org"})
    reported = await post(client, site, post_id, body="reported once")
    edited = await post(client, site, post_id, body="to be edited")
    held = await post(client, site, post_id, honeypot="filled")
    report = f"/v1/sites/{site.site}/comments/{reported['id']}/reports"
    assert (await client.post(report, json={"reason": "spam"})).status == 202
    before = await decision_state(pool, site.site)
    assert before["stream_comments"] and before["site_known_authors"]
    authors = [await author_key(client, site, c["id"]) for c in (first, reply, spammer)]
    assert None not in authors and authors[0] != authors[2] != authors[1]

    async with pool.acquire() as connection:
        for projection in INLINE:
            await projection.reset(connection)
        assert await connection.fetchval("SELECT count(*) FROM stream_comments") == 0
        await rebuild(connection)
    assert await decision_state(pool, site.site) == before
    assert [await author_key(client, site, c["id"]) for c in (first, reply, spammer)] == authors

    # Old delete tokens still delete.
    token = {"X-Delete-Token": first["delete_token"]}
    deleted = await client.delete(f"/v1/sites/{site.site}/comments/{first['id']}", headers=token)
    assert deleted.status == 204, await deleted.text()
    # Replies to old comments still nest, one level deeper.
    nested = await post(client, site, post_id, parent_id=reply["id"], body="deeper")
    [root] = [
        c for c in (await thread(client, site, post_id))["comments"] if c["id"] == first["id"]
    ]
    assert root["deleted"] is not None  # a tombstone: its reply is still visible
    assert [c["id"] for c in root["replies"][0]["replies"]] == [nested["id"]]
    # A ban by email still matches the old comment's author.
    ban = {"comment_id": spammer["id"], "match": "email"}
    banned = await client.post(f"/v1/sites/{site.site}/bans", json=ban, headers=moderator)
    assert banned.status == 201, await banned.text()
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments",
        json={"author": {"name": "Eve again", "email": "EVE@example.org"}, "body": "hi"},
    )
    assert response.status == 403, await response.text()
    # The same client's second report still counts nothing: it stays published.
    assert (await client.post(report, json={"reason": "spam"})).status == 202
    shown = (await thread(client, site, post_id))["comments"]
    assert any(c["id"] == reported["id"] and c["deleted"] is None for c in shown)
    # The author still edits with the old token.
    patched = await client.patch(
        f"/v1/sites/{site.site}/comments/{edited['id']}",
        json={"body": "fixed"},
        headers={"X-Delete-Token": edited["delete_token"]},
    )
    assert patched.status == 200, await patched.text()
    # A comment held before still waits for a moderator, who approves it.
    approve = f"/v1/sites/{site.site}/comments/{held['id']}/approve"
    assert (await client.post(approve, json={}, headers=moderator)).status == 200
    # Under `first-time`, an author known before the rebuild is still known.
    first_time = {"premoderation": "first-time"}
    changed = await client.patch(settings_url, json=first_time, headers=moderator)
    assert changed.status == 200
    known = await post(client, site, post_id, author={"name": "Ann", "email": "ann@example.org"})
    stranger = await post(client, site, post_id, author={"name": "New", "email": "new@x.org"})
    assert (known["status"], stranger["status"]) == ("published", "held")
