"""Reads from a streaming replica (THREADLOG_READ_DATABASE_URL): threads, counts, Atom feeds,
recent comments and the event feed come from it; a write's answer carries its position, and a
reader who passes it back sees the write at once: from the replica once it has replayed it, else
from the primary. The replica is made with `pg_basebackup -R` from a private cluster, on a port
of its own."""

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree

import asyncpg
import pytest
from aiohttp import ClientResponse

from service.read.atom import ATOM
from service.settings import Settings
from tests.builders import Client, SiteKeys, json_body, make_group, make_site, publish, serving
from tests.clusters import Cluster, free_port, migrated_database, program
from tests.waiting import wait_until

HEADER = "Threadlog-Position"
REPLAYED = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"


def replica_of(primary: Cluster) -> Cluster:
    folder = Path(tempfile.mkdtemp(prefix="threadlog-replica-"))
    shutil.chown(folder, "postgres", "postgres")
    standby = Cluster(folder, free_port())
    primary.run(program("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", "postgres", "-D", str(standby.data), "-R", "-X", "stream")  # fmt: skip
    standby.start()
    return standby


@pytest.fixture
async def standby(private_cluster: Cluster) -> AsyncIterator[tuple[str, Cluster]]:
    url = await migrated_database(private_cluster)
    replica = replica_of(private_cluster)
    try:
        yield url, replica
    finally:
        replica.remove()


async def comment_at(client: Client, site: SiteKeys, post_id: str, body: str) -> tuple[str, str]:
    """Post a comment; its id and the position its answer carried."""
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments",
                                 json={"author": {"name": "Ann"}, "body": body})  # fmt: skip
    created = await json_body(response, 201)
    return created["id"], response.headers[HEADER]


async def thread_ids(client: Client, site: SiteKeys, post_id: str, **given: str) -> list[str]:
    response = await read(client, f"/v1/sites/{site.site}/posts/{post_id}/comments", **given)
    return [comment["id"] for comment in (await json_body(response, 200))["comments"]]


async def read(client: Client, path: str, **given: str) -> ClientResponse:
    """A GET passing a write's position as the header (`header=`) or the parameter (`query=`)."""
    headers = {HEADER: given["header"]} if "header" in given else {}
    params = {"position": given["query"]} if "query" in given else {}
    return await client.get(path, headers=headers, params=params)


async def feed_links(client: Client, path: str, **given: str) -> list[str]:
    """The `alternate` links of an Atom feed's entries (a comment's ends in its id)."""
    response = await read(client, path, **given)
    assert response.status == 200, await response.text()
    root = ElementTree.fromstring(await response.read())
    return [
        link.attrib["href"]
        for entry in root.iter(f"{{{ATOM}}}entry")
        for link in entry.iter(f"{{{ATOM}}}link")
        if link.attrib.get("rel") == "alternate"
    ]


async def recent_ids(client: Client, path: str, **given: str) -> list[str]:
    response = await read(client, path, **given)
    return [comment["id"] for comment in (await json_body(response, 200))["comments"]]


async def count(client: Client, site: SiteKeys, post_id: str, **params: str) -> int:
    response = await client.get(f"/v1/sites/{site.site}/counts", params={"post": post_id} | params)
    found: int = (await json_body(response, 200))["counts"][post_id]
    return found


def link(post_id: str, comment_id: str) -> str:
    return f"https://blog.example/{post_id}#comment-{comment_id}"


async def feeds_follow_the_replica(
    client: Client, site: SiteKeys, group: str, post_id: str, ids: tuple[str, str], later: str
) -> None:
    """With replay paused after the second comment: the Atom feeds and recent comments show
    only the first without a position (the replica as it is), and both with `later`."""
    first, second = ids
    post_feed = f"/v1/sites/{site.site}/posts/{post_id}/comments.atom"
    site_feed = f"/v1/sites/{site.site}/comments.atom"
    group_feed = f"/v1/groups/{group}/comments.atom"
    recent = f"/v1/sites/{site.site}/comments/recent"
    group_recent = f"/v1/groups/{group}/comments/recent"
    # The replica's post feed is read at its older position: kept, if at all, under that one.
    assert await feed_links(client, post_feed) == [link(post_id, first)]
    for feed in (site_feed, group_feed):
        assert await feed_links(client, feed) == [link(post_id, first)]
    for path in (recent, group_recent):
        assert await recent_ids(client, path) == [first]
    # A body the replica gave, kept under the thread's newer stamp, would be served here.
    assert await feed_links(client, post_feed, header=later) == [
        link(post_id, second),
        link(post_id, first),
    ]
    for feed in (site_feed, group_feed):
        assert await feed_links(client, feed, query=later) == [
            link(post_id, second),
            link(post_id, first),
        ]
    assert await recent_ids(client, recent, header=later) == [second, first]
    assert await recent_ids(client, group_recent, query=later) == [second, first]
    for path in (post_feed, recent):
        bad = await client.get(path, params={"position": "nonsense"})
        assert bad.status == 400
        assert bad.headers["Content-Type"].startswith("application/problem+json")


async def test_reads_come_from_the_replica_and_a_writer_reads_their_write(
    standby: tuple[str, Cluster],
) -> None:
    url, replica = standby
    replica_url = replica.url("threadlog")
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    paused = await asyncpg.connect(replica_url)
    try:
        site = await make_site(pool)
        group = await make_group(pool, site)
        settings = Settings(
            database_url=url, read_database_url=replica_url, webhooks_dispatch=False,
            default_rate_limit_per_minute=0, pool_min_size=1,
        )  # fmt: skip
        async with serving(settings) as client:
            post_id = await publish(client, site)
            first, position = await comment_at(client, site, post_id, "first")
            assert await thread_ids(client, site, post_id, header=position) == [first]
            post_feed = f"/v1/sites/{site.site}/posts/{post_id}/comments.atom"
            # The post's feed is now kept in the process (under its thread's position).
            assert await feed_links(client, post_feed, header=position) == [link(post_id, first)]

            async def replayed() -> bool:
                # A read with a position may have been answered by the primary: wait for the
                # replica itself to have the first comment (and the group) before it pauses.
                return bool(await paused.fetchval(REPLAYED, position))

            await wait_until(replayed, "the replica to replay the first comment")
            # The replica stops replaying: it keeps what it had.
            await paused.execute("SELECT pg_wal_replay_pause()")

            async def paused_now() -> bool:
                return bool(
                    await paused.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'")
                )

            await wait_until(paused_now, "the replica to pause")
            second, later = await comment_at(client, site, post_id, "second")
            # Without a position: the replica as it is.
            assert await thread_ids(client, site, post_id) == [first]
            assert await count(client, site, post_id) == 1
            # With the write's position: the replica has not got there, so the primary answers.
            assert await thread_ids(client, site, post_id, header=later) == [first, second]
            assert await count(client, site, post_id, position=later) == 2
            assert await thread_ids(client, site, post_id, query=later) == [first, second]
            await feeds_follow_the_replica(client, site, group, post_id, (first, second), later)

            await paused.execute("SELECT pg_wal_replay_resume()")

            async def caught_up() -> bool:
                return await count(client, site, post_id) == 2

            await wait_until(caught_up, "the replica to replay the second comment")
            assert await count(client, site, post_id, position=later) == 2
            # The feed reads the replica too.
            feed = await client.get("/v1/events", headers=site.auth("subscriber"))
            types = [event["type"] for event in (await json_body(feed, 200))["events"]]
            assert types.count("comment.posted") == 2

            bad = await client.get(f"/v1/sites/{site.site}/counts",
                                   params={"post": post_id, "position": "nonsense"})  # fmt: skip
            assert bad.status == 400
            assert bad.headers["Content-Type"].startswith("application/problem+json")
    finally:
        await paused.close()
        await pool.close()
