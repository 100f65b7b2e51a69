"""The API as a site, its readers and its moderators use it."""

import asyncio
import gzip
from typing import Any

import asyncpg

from service.ops.maintenance import forget_idempotency_keys
from tests.builders import Client, SiteKeys, comment, new_id, publish, thread
from tests.waiting import feed


def ids(views: list[dict[str, Any]]) -> list[str]:
    return [view["id"] for view in views]


async def test_publish_then_update_then_read_a_post(client: Client, site: SiteKeys) -> None:
    path = f"/v1/sites/{site.site}/posts/hello"
    body = {
        "title": "Hello",
        "url": "https://blog.example/hello",
        "labels": ["News", " news ", "Tech"],
        "published_at": "2026-01-02T03:04:05+01:00",
    }
    created = await client.put(path, json=body, headers=site.auth("publisher"))
    assert created.status == 201 and created.headers["Location"] == path
    assert await created.json() == {
        "id": "hello",
        "title": "Hello",
        "url": "https://blog.example/hello",
        "labels": ["News", "Tech"],
        "published_at": "2026-01-02T02:04:05Z",
        "comment_count": 0,
    }
    updated = await client.put(path, json=body | {"title": "Hi"}, headers=site.auth("moderator"))
    assert updated.status == 200 and (await updated.json())["title"] == "Hi"
    again = await client.put(path, json=body | {"title": "Hi"}, headers=site.auth("publisher"))
    assert again.status == 200
    read = await client.get(path)
    assert (await read.json())["title"] == "Hi"


async def test_an_unchanged_put_appends_no_event(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await publish(client, site, post_id)
    await comment(client, site, post_id)
    types = [event["type"] for event in (await feed(client, site, 2))["events"]]
    assert types == ["post.published", "comment.posted"]


async def test_comments_nest_and_count(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "first")
    second = await comment(client, site, post_id, "second")
    reply = await comment(client, site, post_id, "reply", first["id"])
    nested = await comment(client, site, post_id, "nested", reply["id"])
    view = await thread(client, site, post_id)
    assert view["post"] == post_id and view["total"] == 4 and view["next"] is None
    assert ids(view["comments"]) == [first["id"], second["id"]]
    assert ids(view["comments"][0]["replies"]) == [reply["id"]]
    assert ids(view["comments"][0]["replies"][0]["replies"]) == [nested["id"]]
    assert view["comments"][0]["body_html"] == "<p>first</p>"
    assert "delete_token" not in view["comments"][0]
    newest = await thread(client, site, post_id, sort="newest")
    assert ids(newest["comments"]) == [second["id"], first["id"]]
    post = await (await client.get(f"/v1/sites/{site.site}/posts/{post_id}")).json()
    assert post["comment_count"] == 4


async def test_the_author_deletes_with_the_token(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    mine = await comment(client, site, post_id)
    path = f"/v1/sites/{site.site}/comments/{mine['id']}"
    assert (await client.delete(path)).status == 401
    other = await comment(client, site, post_id)
    wrong = await client.delete(path, headers={"X-Delete-Token": other["delete_token"]})
    assert wrong.status == 403
    deleted = await client.delete(path, headers={"X-Delete-Token": mine["delete_token"]})
    assert deleted.status == 204
    again = await client.delete(path, headers={"X-Delete-Token": mine["delete_token"]})
    assert again.status == 409
    view = await thread(client, site, post_id)
    assert ids(view["comments"]) == [other["id"]] and view["total"] == 1


# What the POST answer tells the author only, beyond the comment as the thread shows it.
AUTHORS_ONLY = ("delete_token", "status", "editable_until")


async def test_tombstones_stay_only_while_replies_are_visible(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    parent = await comment(client, site, post_id, "parent")
    child = await comment(client, site, post_id, "child", parent["id"])
    grandchild = await comment(client, site, post_id, "grandchild", child["id"])

    async def delete(view: dict[str, Any], role: str | None = None) -> None:
        headers = site.auth(role) if role else {"X-Delete-Token": view["delete_token"]}
        response = await client.delete(
            f"/v1/sites/{site.site}/comments/{view['id']}", json={"reason": "spam"}, headers=headers
        )
        assert response.status == 204

    await delete(parent, "moderator")
    await delete(child)
    view = await thread(client, site, post_id)
    assert view["total"] == 1
    [top] = view["comments"]
    assert top == {
        "id": parent["id"],
        "parent_id": None,
        "author": None,
        "body_html": None,
        "created_at": parent["created_at"],
        "edited_at": None,
        "deleted": {"by": "moderator"},
        "replies": [
            {
                "id": child["id"],
                "parent_id": parent["id"],
                "author": None,
                "body_html": None,
                "created_at": child["created_at"],
                "edited_at": None,
                "deleted": {"by": "author"},
                "replies": [{k: v for k, v in grandchild.items() if k not in AUTHORS_ONLY}],
            }
        ],
    }
    await delete(grandchild)
    view = await thread(client, site, post_id)
    assert view["comments"] == [] and view["total"] == 0


async def test_pages_count_every_comment_in_display_order(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    tops = [await comment(client, site, post_id, f"c{n}") for n in range(5)]
    reply = await comment(client, site, post_id, "reply", tops[1]["id"])
    pages: list[list[str]] = []
    cursor = None
    for _ in range(3):
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await thread(client, site, post_id, **query)
        pages.append(ids(page["comments"]))
        assert page["total"] == 6
        cursor = page["next"]
    # The reply counts: it opens the second page, under a parent the first page showed.
    assert pages == [ids(tops[:2]), [reply["id"], tops[2]["id"]], ids(tops[3:])]
    assert cursor is None
    second = await thread(
        client,
        site,
        post_id,
        limit=2,
        cursor=(await thread(client, site, post_id, limit=2))["next"],
    )
    assert second["comments"][0]["parent_id"] == tops[1]["id"]
    whole = await thread(client, site, post_id, limit=3)
    assert ids(whole["comments"]) == ids(tops[:2]) and ids(whole["comments"][1]["replies"]) == [
        reply["id"]
    ]
    newest = await thread(client, site, post_id, limit=3, sort="newest")
    rest = await thread(client, site, post_id, limit=3, sort="newest", cursor=newest["next"])
    assert ids(newest["comments"]) + ids(rest["comments"]) == ids(tops)[::-1]
    assert ids(rest["comments"][0]["replies"]) == [reply["id"]]


async def test_etag_answers_304_until_the_thread_changes(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await comment(client, site, post_id)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    first = await client.get(path)
    etag = first.headers["ETag"]
    cached = await client.get(path, headers={"If-None-Match": etag})
    assert cached.status == 304 and await cached.read() == b""
    await comment(client, site, post_id)
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag


async def test_threads_are_gzipped_for_clients_that_accept_it(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    for _ in range(12):
        await comment(client, site, post_id, "a comment long enough to be worth compressing")
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    plain = await client.get(path, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    zipped = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert gzip.decompress(await zipped.read()) == await plain.read()
    assert len(await zipped.read()) < len(await plain.read())


async def test_a_kept_thread_body_is_never_stale(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    first = await comment(client, site, post_id)
    assert (await thread(client, site, post_id))["total"] == 1
    await client.delete(
        f"/v1/sites/{site.site}/comments/{first['id']}", headers=site.auth("moderator")
    )
    assert (await thread(client, site, post_id))["total"] == 0
    await client.delete(f"/v1/sites/{site.site}/posts/{post_id}", headers=site.auth("moderator"))
    assert (await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments")).status == 410


async def test_labels_group_case_insensitively_and_list_posts(
    client: Client, site: SiteKeys
) -> None:
    older = await publish(
        client, site, labels=["Python", "Tips"], published_at="2026-01-01T00:00:00Z"
    )
    newer = await publish(client, site, labels=[" PYTHON "], published_at="2026-02-01T00:00:00Z")
    third = await publish(client, site, labels=["python"], published_at="2026-03-01T00:00:00Z")
    labels = await (await client.get(f"/v1/sites/{site.site}/labels")).json()
    assert labels == {
        "labels": [{"label": "Python", "post_count": 3}, {"label": "Tips", "post_count": 1}]
    }
    by_count = await (await client.get(f"/v1/sites/{site.site}/labels?sort=count")).json()
    assert by_count["labels"][0]["label"] == "Python"
    path = f"/v1/sites/{site.site}/labels/pYtHoN/posts"
    page = await (await client.get(path, params={"limit": 2})).json()
    assert ids(page["posts"]) == [third, newer]
    rest = await (await client.get(path, params={"limit": 2, "cursor": page["next"]})).json()
    assert ids(rest["posts"]) == [older] and rest["next"] is None
    # The shown spelling is the earliest published post's: now the February one's.
    await publish(client, site, older, labels=["Tips"], published_at="2026-01-01T00:00:00Z")
    labels = await (await client.get(f"/v1/sites/{site.site}/labels")).json()
    assert labels["labels"] == [
        {"label": "PYTHON", "post_count": 2},
        {"label": "Tips", "post_count": 1},
    ]


async def test_a_deleted_post_leaves_reads_and_the_label_index(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site, labels=["Gone"])
    await comment(client, site, post_id)
    path = f"/v1/sites/{site.site}/posts/{post_id}"
    assert (await client.delete(path, headers=site.auth("publisher"))).status == 403
    assert (await client.delete(path, headers=site.auth("moderator"))).status == 204
    assert (await client.get(path)).status == 410
    assert (await client.get(f"{path}/comments")).status == 410
    assert (await client.delete(path, headers=site.auth("moderator"))).status == 410
    republish = await client.put(
        path, json={"title": "t", "url": "https://b.example/"}, headers=site.auth("publisher")
    )
    assert republish.status == 409
    labels = await (await client.get(f"/v1/sites/{site.site}/labels")).json()
    assert labels == {"labels": []}
    counts = await (
        await client.get(f"/v1/sites/{site.site}/counts", params={"post": post_id})
    ).json()
    assert counts == {"counts": {post_id: 0}}


async def test_counts_for_many_posts(client: Client, site: SiteKeys) -> None:
    busy, quiet = await publish(client, site), await publish(client, site)
    for _ in range(3):
        await comment(client, site, busy)
    query = [("post", busy), ("post", quiet), ("post", "unknown")]
    counts = await (await client.get(f"/v1/sites/{site.site}/counts", params=query)).json()
    assert counts == {"counts": {busy: 3, quiet: 0, "unknown": 0}}


async def test_a_hot_thread_never_answers_409_or_5xx(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    parent = await comment(client, site, post_id)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    bodies = [
        {"author": {"name": f"r{n}"}, "body": "x"} | ({"parent_id": parent["id"]} if n % 2 else {})
        for n in range(60)
    ]
    responses = await asyncio.gather(*(client.post(path, json=body) for body in bodies))
    assert sorted(response.status for response in responses) == [201] * 60
    assert (await thread(client, site, post_id))["total"] == 61


async def test_a_retried_post_returns_the_first_response(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    body = {"author": {"name": "Ann"}, "body": "once"}
    headers = {"Idempotency-Key": new_id("key")}
    responses = await asyncio.gather(
        *(client.post(path, json=body, headers=headers) for _ in range(8))
    )
    views = [await response.json() for response in responses]
    assert {response.status for response in responses} == {201}
    assert all(view == views[0] for view in views)
    assert sum(response.headers.get("Idempotent-Replayed") == "true" for response in responses) == 7
    assert (await thread(client, site, post_id))["total"] == 1
    deleted = await client.delete(
        f"/v1/sites/{site.site}/comments/{views[0]['id']}",
        headers={"X-Delete-Token": views[0]["delete_token"]},
    )
    assert deleted.status == 204


async def test_the_feed_pages_with_cursors(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    made = [await comment(client, site, post_id) for _ in range(5)]
    events: list[dict[str, Any]] = []
    after = None
    while len(events) < 6:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = await feed(client, site, 1, **params)
        assert 1 <= len(page["events"]) <= 2
        events += page["events"]
        after = page["next"]
    assert after == events[-1]["cursor"]
    empty = await client.get("/v1/events", params={"after": after}, headers=site.auth("subscriber"))
    assert await empty.json() == {"events": [], "next": after}
    assert [event["type"] for event in events] == ["post.published"] + ["comment.posted"] * 5
    assert [event["data"]["comment_id"] for event in events[1:]] == ids(made)
    event = events[1]
    assert event["specversion"] == "1.0" and event["source"] == f"/v1/sites/{site.site}"
    assert event["subject"] == f"posts/{post_id}/comments/{made[0]['id']}"
    assert event["id"] != events[2]["id"] and event["data"]["site"] == site.site


async def test_health_and_readiness(client: Client) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await (await client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["schema"]


async def test_old_idempotency_keys_are_forgotten(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    body, headers = {"author": {"name": "A"}, "body": "x"}, {"Idempotency-Key": new_id("old")}
    assert (await client.post(path, json=body, headers=headers)).status == 201
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    assert await forget_idempotency_keys(pool) >= 1
    again = await client.post(path, json=body, headers=headers)
    assert again.status == 201 and "Idempotent-Replayed" not in again.headers
    assert (await thread(client, site, post_id))["total"] == 2


async def test_a_new_comments_location_is_its_own_url(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments",
        json={"author": {"name": "Ann"}, "body": "located"},
    )
    created = await response.json()
    assert response.headers["Location"] == f"/v1/sites/{site.site}/comments/{created['id']}"
    shown = await client.get(response.headers["Location"])
    assert shown.status == 200, await shown.text()
    assert (await shown.json())["id"] == created["id"]
