"""Issue 11, thread pages count top-level comments only: one root with thousands of replies
made `?limit=1` answer megabytes. A page now counts every comment it returns, replies and
tombstones included, and its cursor can continue inside a root's replies."""

import json
from typing import Any

import asyncpg

from service.settings import Settings
from tests.builders import (
    Client,
    SiteKeys,
    comment,
    publish,
    seed_replies,
    serving,
    thread,
)

REPLIES = 5000


async def all_pages(client: Client, site: SiteKeys, post_id: str, **query: Any) -> list[Any]:
    pages, cursor = [], None
    while True:
        page = await thread(
            client, site, post_id, **query, **({"cursor": cursor} if cursor else {})
        )
        pages.append(page)
        cursor = page["next"]
        if cursor is None:
            return pages


def assemble(pages: list[Any]) -> list[dict[str, Any]]:
    """The thread the widget builds from these pages: a reply that opens a page goes under
    its parent, shown before."""
    top: list[dict[str, Any]] = []
    shown: dict[str, dict[str, Any]] = {}
    for page in pages:
        for view in page["comments"]:
            parent = view["parent_id"]
            (top if parent is None else shown[parent]["replies"]).append(view)
            for item in [view, *nested(view["replies"])]:
                shown[item["id"]] = item
    return top


def nested(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for view in views for item in [view, *nested(view["replies"])]]


def flat(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Views in display order, each without its nested replies."""
    return [
        item
        for view in views
        for item in [{k: v for k, v in view.items() if k != "replies"}, *flat(view["replies"])]
    ]


async def test_a_root_with_thousands_of_replies_pages_by_comments(
    client: Client, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    root = await comment(client, site, post_id, "the root")
    await seed_replies(pool, site, post_id, root["id"], REPLIES)
    response = await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments?limit=1")
    raw = await response.read()
    assert response.status == 200
    page = json.loads(raw)
    # Was every reply (12.5 MB for 50,001): now the root alone, and a way on.
    assert page["total"] == REPLIES + 1
    assert [view["id"] for view in page["comments"]] == [root["id"]]
    assert page["comments"][0]["replies"] == [] and page["next"] is not None
    assert len(raw) < 1024
    second = await thread(client, site, post_id, limit=200, cursor=page["next"])
    assert len(second["comments"]) == 200
    assert all(view["parent_id"] == root["id"] for view in second["comments"])


async def test_paging_through_a_long_thread_shows_each_comment_once_in_order(
    client: Client, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "first")
    await seed_replies(pool, site, post_id, first["id"], 450)
    second = await comment(client, site, post_id, "second")
    whole: list[dict[str, Any]] = []
    pages = await all_pages(client, site, post_id, limit=200)
    for page in pages:
        assert len(flat(page["comments"])) <= 200
        for view in flat(page["comments"]):
            # Every reply's parent is on this page or an earlier one: the widget can place it.
            assert view["parent_id"] is None or view["parent_id"] in {v["id"] for v in whole}
            whole.append(view)
    assert len(pages) == 3
    assert [view["body_html"] for view in whole] == [
        "<p>first</p>",
        *(f"<p>r{n}</p>" for n in range(450)),
        "<p>second</p>",
    ]
    assert whole[-1]["id"] == second["id"]


async def test_pages_of_any_size_add_up_to_the_whole_thread(client: Client, site: SiteKeys) -> None:
    """A tree with nesting, siblings and a tombstone, paged 1, 2, 3 and 7 at a time, either
    way round, reads as the one page that holds it all."""
    post_id = await publish(client, site)
    a = await comment(client, site, post_id, "a")
    a1 = await comment(client, site, post_id, "a1", a["id"])
    a11 = await comment(client, site, post_id, "a11", a1["id"])
    b = await comment(client, site, post_id, "b")
    await comment(client, site, post_id, "a2", a["id"])
    await comment(client, site, post_id, "a111", a11["id"])
    await comment(client, site, post_id, "b1", b["id"])
    await comment(client, site, post_id, "c")
    deleted = await client.delete(
        f"/v1/sites/{site.site}/comments/{a1['id']}", headers=site.auth("moderator")
    )
    assert deleted.status == 204
    for sort in ("oldest", "newest"):
        everything = (await thread(client, site, post_id, sort=sort, limit=200))["comments"]
        assert len(flat(everything)) == 8
        for limit in (1, 2, 3, 7):
            pages = await all_pages(client, site, post_id, sort=sort, limit=limit)
            assert all(len(flat(page["comments"])) <= limit for page in pages)
            assert assemble(pages) == everything
            assert len(pages) == -(-8 // limit)


async def test_a_page_stops_at_its_byte_budget(settings: Settings, site: SiteKeys) -> None:
    async with serving(settings, thread_page_bytes=15 * 1024) as client:
        post_id = await publish(client, site)
        for _ in range(6):
            await comment(client, site, post_id, "x" * 5000)
        pages = await all_pages(client, site, post_id, limit=200)
    assert [len(page["comments"]) for page in pages] == [2, 2, 2]


async def test_a_cursor_of_an_earlier_version_still_means_after_that_root(
    client: Client, pool: asyncpg.Pool, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "first")
    await comment(client, site, post_id, "reply", first["id"])
    second = await comment(client, site, post_id, "second")
    position = await pool.fetchval(
        "SELECT position FROM thread_comments WHERE site = $1 AND comment_id = $2",
        site.site,
        first["id"],
    )
    page = await thread(client, site, post_id, cursor=str(position))
    assert [view["id"] for view in page["comments"]] == [second["id"]]


async def test_a_malformed_thread_cursor_is_400(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    for cursor in ("1.", ".1", "1.2.3", "a.1", "1.x", "1" * 19 + ".1"):
        response = await client.get(
            f"/v1/sites/{site.site}/posts/{post_id}/comments", params={"cursor": cursor}
        )
        assert response.status == 400, cursor
