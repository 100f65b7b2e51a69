"""Recent comments of a site and of a group of sites, and a group's label index: read models
from the log, rebuilt alike, merged in time order, with members coming and going."""

import json
import re

import asyncpg
import feedparser

from service.domain.groups import AddGroupSite, DeleteGroup, RemoveGroupSite
from service.http.keys import REPRESENTATIONS
from service.ops.rebuild import rebuild
from service.settings import Settings
from tests.builders import (
    AT,
    Client,
    SiteKeys,
    change_group,
    comment,
    json_body,
    make_group,
    make_site,
    new_id,
    publish,
    serving,
    threadlog,
)


async def recent(client: Client, path: str, status: int = 200, **query: object) -> dict:
    return await json_body(await client.get(path, params=query), status)


async def test_a_sites_recent_comments(client: Client, site: SiteKeys, settings: Settings) -> None:
    post_id = await publish(client, site, title="On <things>", url="https://blog.example/x#top")
    long = "word " * 60
    first = await comment(client, site, post_id, "**first** <i>comment</i>", name="Ann")
    await comment(client, site, post_id, long, first["id"], name="Bob")
    rejected = await comment(client, site, post_id, "spam spam", name="Eve")
    await client.post(
        f"/v1/sites/{site.site}/comments/{rejected['id']}/reject",
        json={"reason": "spam"},
        headers=site.auth("moderator"),
    )
    gone = await publish(client, site)
    await comment(client, site, gone, "on a deleted post")
    await client.delete(f"/v1/sites/{site.site}/posts/{gone}", headers=site.auth("moderator"))
    path = f"/v1/sites/{site.site}/comments/recent"
    body = await recent(client, path)
    assert [c["author"]["name"] for c in body["comments"]] == ["Bob", "Ann"]
    newest, oldest = body["comments"]
    assert oldest == {
        "id": first["id"],
        "site": site.site,
        "post": {"id": post_id, "title": "On <things>", "url": "https://blog.example/x#top"},
        "author": {"name": "Ann", "website": None},
        # Raw HTML in a comment is shown as text: so is it in the excerpt.
        "excerpt": "first <i>comment</i>",
        "created_at": first["created_at"],
        "link": f"https://blog.example/x#comment-{first['id']}",
    }
    assert newest["excerpt"].endswith("…") and len(newest["excerpt"]) <= 141
    assert (await recent(client, path, limit=1))["comments"] == [newest]
    largest = settings.recent_comments_max
    assert len((await recent(client, path, limit=largest))["comments"]) == 2
    too_many = await recent(client, path, 400, limit=largest + 1)
    assert too_many["type"].endswith("/problems/bad-request")
    missing = await recent(client, "/v1/sites/no-such-site/comments/recent", 404)
    assert missing["type"].endswith("/problems/not-found")


async def test_the_default_and_largest_limits_are_settings(
    client: Client, site: SiteKeys, settings: Settings
) -> None:
    post_id = await publish(client, site)
    for number in range(3):
        await comment(client, site, post_id, f"c{number}")
    async with serving(settings, recent_comments_default=1, recent_comments_max=2) as small:
        path = f"/v1/sites/{site.site}/comments/recent"
        assert [c["excerpt"] for c in (await recent(small, path))["comments"]] == ["c2"]
        assert len((await recent(small, path, limit=2))["comments"]) == 2
        await recent(small, path, 400, limit=3)


async def test_a_groups_recent_comments_merge_its_sites_in_time_order(
    client: Client, pool: asyncpg.Pool
) -> None:
    sites = [await make_site(pool) for _ in range(3)]
    posts = [await publish(client, s) for s in sites]
    written = []
    for round_ in range(2):
        for s, post_id in zip(sites, posts, strict=True):
            written.append(
                (s.site, (await comment(client, s, post_id, f"{s.site} {round_}"))["id"])
            )
    group = await make_group(pool, sites[0], sites[1])
    path = f"/v1/groups/{group}/comments/recent"
    body = await recent(client, path)
    in_group = [(site, c) for site, c in reversed(written) if site != sites[2].site]
    assert [(c["site"], c["id"]) for c in body["comments"]] == in_group
    assert body["sites"] == sorted([sites[0].site, sites[1].site])
    assert [c["id"] for c in (await recent(client, path, limit=3))["comments"]] == [
        c for _, c in in_group[:3]
    ]
    for feed_path in (
        f"/v1/groups/{group}/comments/recent.atom",
        f"/v1/groups/{group}/comments.atom",
    ):
        response = await client.get(feed_path)
        assert response.headers["Content-Type"] == "application/atom+xml"
        feed = feedparser.parse(await response.read())
        assert not feed.bozo
        assert [e.link.rsplit("#comment-", 1)[1] for e in feed.entries] == [c for _, c in in_group]

    await change_group(pool, AddGroupSite(group=group, site=sites[2].site, at=AT))
    assert len((await recent(client, path))["comments"]) == 6
    await change_group(pool, RemoveGroupSite(group=group, site=sites[0].site, at=AT))
    left = await recent(client, path)
    assert {c["site"] for c in left["comments"]} == {sites[1].site, sites[2].site}
    assert len(left["comments"]) == 4
    # Moderation stays per site: a site's own key cannot act through the group.
    await change_group(pool, DeleteGroup(group=group, at=AT))
    assert (await recent(client, path, 404))["type"].endswith("/problems/not-found")


async def test_an_unknown_group_is_a_404_problem(client: Client) -> None:
    for path in (
        "/v1/groups/no-such-group/comments/recent",
        "/v1/groups/no-such-group/comments/recent.atom",
        "/v1/groups/no-such-group/comments.atom",
        "/v1/groups/no-such-group/labels",
        "/v1/groups/no-such-group/labels/x/posts",
    ):
        response = await client.get(path)
        assert response.status == 404, path
        assert response.headers["Content-Type"] == "application/problem+json"
        assert (await response.json())["type"].endswith("/problems/not-found")


async def test_a_groups_label_index_spans_its_sites(client: Client, pool: asyncpg.Pool) -> None:
    first, second, outside = [await make_site(pool) for _ in range(3)]
    a = await publish(client, first, labels=["LinkedIn", "CV"], published_at="2026-01-01T00:00:00Z")
    b = await publish(client, second, labels=["linkedin"], published_at="2026-02-01T00:00:00Z")
    c = await publish(client, second, labels=["LinkedIn"], published_at="2026-03-01T00:00:00Z")
    await publish(client, outside, labels=["LinkedIn"])
    group = await make_group(pool, first, second)
    labels = await recent(client, f"/v1/groups/{group}/labels")
    by_label = {entry["label"]: entry for entry in labels["labels"]}
    linked = by_label["LinkedIn"]
    assert linked["post_count"] == 3
    # Spelt as its earliest post in the group spells it; its sites in that order.
    assert linked["sites"] == [
        {"site": first.site, "post_count": 1}, {"site": second.site, "post_count": 2}
    ]  # fmt: skip
    assert by_label["CV"]["sites"] == [{"site": first.site, "post_count": 1}]
    posts = await recent(client, f"/v1/groups/{group}/labels/linkedin/posts")
    assert [(p["site"], p["id"]) for p in posts["posts"]] == [
        (second.site, c), (second.site, b), (first.site, a)
    ]  # fmt: skip
    limited = await recent(client, f"/v1/groups/{group}/labels/linkedin/posts", limit=1)
    assert [p["id"] for p in limited["posts"]] == [c]


async def test_a_rebuild_gives_the_same_group_reads(client: Client, pool: asyncpg.Pool) -> None:
    sites = [await make_site(pool) for _ in range(3)]
    for s in sites:
        post_id = await publish(client, s, labels=["Shared", s.site])
        await comment(client, s, post_id, f"on {s.site}")
    group = await make_group(pool, sites[0], sites[1])
    await change_group(pool, AddGroupSite(group=group, site=sites[2].site, at=AT))
    await change_group(pool, RemoveGroupSite(group=group, site=sites[1].site, at=AT))
    gone = await make_group(pool, sites[0])
    await change_group(pool, DeleteGroup(group=gone, at=AT))
    paths = [
        f"/v1/groups/{group}/comments/recent",
        f"/v1/groups/{group}/comments/recent.atom",
        f"/v1/groups/{group}/labels",
        f"/v1/groups/{group}/labels/shared/posts",
        f"/v1/groups/{gone}/labels",
    ]

    async def reads() -> list[bytes]:
        found = []
        for path in paths:
            response = await client.get(path)
            found.append(
                f"{response.status} {response.headers.get('ETag')} ".encode()
                + await response.read()
            )
        return found

    before = await reads()
    assert before[0].startswith(b"200") and before[-1].startswith(b"404")
    async with pool.acquire() as connection:
        await rebuild(connection)
    client.app[REPRESENTATIONS].entries.clear()
    assert await reads() == before


async def test_cross_origin_group_reads_from_a_members_origin(
    client: Client, pool: asyncpg.Pool
) -> None:
    member = await make_site(pool, "https://member.example")
    await make_site(pool, "https://outsider.example")
    group = await make_group(pool, member)
    path = f"/v1/groups/{group}/comments/recent"
    allowed = await client.get(path, headers={"Origin": "https://member.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://member.example"
    refused = await client.get(path, headers={"Origin": "https://outsider.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Origin" in refused.headers["Vary"]


async def test_the_groups_command(database_url: str, pool: asyncpg.Pool) -> None:
    a, b = await make_site(pool), await make_site(pool)
    name = new_id("course")
    created = threadlog(database_url, "groups", "create", name, "--site", a.site, "--site", b.site)
    assert created.returncode == 0, created.stderr
    assert f"group {name}: created" in created.stdout
    shown = threadlog(database_url, "groups", "show", name)
    assert json.loads(shown.stdout)["sites"] == sorted([a.site, b.site])
    again = threadlog(database_url, "groups", "add", name, "--site", a.site)
    assert "unchanged" in again.stdout
    removed = threadlog(database_url, "groups", "remove", name, "--site", b.site)
    assert removed.returncode == 0 and "removed from" in removed.stdout
    listed = threadlog(database_url, "groups", "list")
    assert f"{name}\t1 sites" in listed.stdout
    unknown = threadlog(database_url, "groups", "add", name, "--site", "no-such-site")
    assert unknown.returncode == 1 and "no-such-site" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    not_in = threadlog(database_url, "groups", "remove", name, "--site", b.site)
    assert not_in.returncode == 1 and "is not in group" in not_in.stderr
    deleted = threadlog(database_url, "groups", "delete", name)
    assert deleted.returncode == 0
    missing = threadlog(database_url, "groups", "show", name)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    bad = threadlog(database_url, "groups", "create", "no/slash", "--site", a.site)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    for action in ("create", "add", "remove", "delete", "list", "show"):
        helped = threadlog(database_url, "groups", action, "--help")
        assert "DATABASE_URL" in helped.stdout, helped.stdout
        assert re.search(r"example:\n  threadlog groups ", helped.stdout), helped.stdout
