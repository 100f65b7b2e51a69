"""The log after the database moves to another PostgreSQL cluster: `pg_dump | pg_restore` into
a new server whose transaction counter is lower or higher than the old one's, and `pg_upgrade`
(copy and link). Transaction ids belong to a cluster, and the feed's order and cursors are made
of them: `serve` refuses a moved log until `threadlog adopt-cluster` starts the new cluster's
epoch, after which nothing is lost, repeated or reordered."""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from service.eventstore import store
from service.eventstore.cursors import START, Cursor
from service.eventstore.store import RecordedEvent
from service.ops import migrate
from service.ops.moves import Epoch, adopt_cluster
from service.settings import Settings
from service.write.application import Application
from tests.builders import (
    META,
    Client,
    SiteKeys,
    comment,
    json_body,
    make_site,
    post_comment,
    publish,
    publish_post,
    register_webhook,
    serving,
    set_settings,
    thread,
    threadlog,
)
from tests.clusters import Cluster
from tests.conftest import run_in_thread
from tests.waiting import feed, wait_until

# A server that has run for a while: its counter is past one wraparound of 32-bit ids.
OLD_COUNTER = 2**32 + 8 * 2**20
# A new server further on still (another long-lived cluster, a managed database).
HIGHER_COUNTER = 2 * 2**32 + 16 * 2**20
DATABASE = "threadlog"
URL = "http://127.0.0.1:9/hook"
WRITERS = 8
PER_WRITER = 40


@dataclass(frozen=True)
class Written:
    """What a database held before its move, and what a subscriber had read of it."""

    site: SiteKeys
    posts: list[str]
    comments: list[str]
    # The site's whole feed.
    events: list[dict[str, Any]]
    # A subscriber's cursor: it has read the first half of the feed.
    held: str
    webhook: str


def transaction_ids(events: list[dict[str, Any]]) -> set[int]:
    return {Cursor.parse(event["cursor"]).transaction_id for event in events}


async def write(settings: Settings, url: str) -> Written:
    """A migrated database with posts, comments, replies, a site setting and a webhook."""
    run_in_thread(migrate.upgrade, url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        site = await make_site(pool)
    finally:
        await pool.close()
    async with serving(settings, database_url=url) as client:
        posts = [await publish(client, site) for _ in range(2)]
        comments = []
        for post_id in posts:
            first = await comment(client, site, post_id, "first")
            await comment(client, site, post_id, "a reply", parent_id=first["id"])
            await comment(client, site, post_id, "second")
            comments.append(first["id"])
        await set_settings(client, site, suspect_words=["*coin*"])
        events = (await feed(client, site, 9, limit=1000))["events"]
        held = events[4]["cursor"]
        hook = await register_webhook(client, site, URL, after=held)
    return Written(site, posts, comments, events, held, hook["id"])


async def write_again(client: Client, before: Written) -> list[str]:
    """What a site does after the move: comments on old posts and replies to old comments,
    a settings change; the ids its events name."""
    site = before.site
    posted = await comment(client, site, before.posts[0], "after the move")
    replied = await comment(client, site, before.posts[1], "late", parent_id=before.comments[1])
    await set_settings(client, site, suspect_words=[])
    return [posted["id"], replied["id"], site.site]


def named(event: dict[str, Any]) -> str:
    data: dict[str, Any] = event["data"]
    return str(data.get("comment_id", data["site"]))


async def check_moved(settings: Settings, url: str, before: Written, *, lower: bool) -> None:
    """The whole feed in its original order, a held cursor resuming exactly, writes to existing
    posts working and their events coming after every old one, though their transaction ids
    are `lower` than the old ones (or higher)."""
    site, count = before.site, len(before.events)
    async with serving(settings, database_url=url) as client:
        page = await feed(client, site, count, limit=1000)
        assert page["events"] == before.events
        resumed = await feed(client, site, count - 5, after=before.held, limit=1000)
        assert resumed["events"] == before.events[5:]
        hook = await client.get(f"/v1/webhooks/{before.webhook}", headers=site.auth("moderator"))
        assert (await json_body(hook, 200))["cursor"] == before.held

        written = await write_again(client, before)
        page = await feed(client, site, count + 3, limit=1000)
        assert page["events"][:count] == before.events
        assert [named(event) for event in page["events"][count:]] == written
        # The new cluster's epoch is in its cursors; the old ones keep their text.
        assert all(event["cursor"].startswith("2:") for event in page["events"][count:])
        old, new = transaction_ids(before.events), transaction_ids(page["events"][count:])
        assert max(new) < min(old) if lower else min(new) > max(old)
        resumed = await feed(client, site, count - 2, after=before.held, limit=1000)
        assert resumed["events"] == page["events"][5:]


async def refused_then_adopted(url: str) -> None:
    """`serve` refuses the moved log in one line, and the database any append; `adopt-cluster`
    starts epoch 2, once."""
    connection = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError, match="another PostgreSQL"):
            await connection.fetchval("SELECT cluster_epoch()")
    finally:
        await connection.close()
    refused = threadlog(url, "serve", "--port", "9")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("threadlog: ClusterMoved: the event log was written on ")
    assert "threadlog adopt-cluster" in refused.stderr
    adopted = threadlog(url, "adopt-cluster")
    assert adopted.returncode == 0, adopted.stderr
    assert "writes the log from now on, in epoch 2" in adopted.stdout
    again = threadlog(url, "adopt-cluster")
    assert "nothing to do" in again.stdout and "epoch 2" in again.stdout


async def test_a_restore_into_a_cluster_with_a_lower_counter_keeps_the_log(
    settings: Settings, private_cluster: Cluster, second_cluster: Cluster
) -> None:
    private_cluster.set_next_transaction_id(OLD_COUNTER)
    before = await write(settings, private_cluster.create_database(DATABASE))
    moved = private_cluster.copy_database_to(second_cluster, DATABASE)
    await refused_then_adopted(moved)
    await check_moved(settings, moved, before, lower=True)


async def test_a_restore_into_a_cluster_with_a_higher_counter_keeps_the_log(
    settings: Settings, private_cluster: Cluster, second_cluster: Cluster
) -> None:
    second_cluster.set_next_transaction_id(HIGHER_COUNTER)
    before = await write(settings, private_cluster.create_database(DATABASE))
    moved = private_cluster.copy_database_to(second_cluster, DATABASE)
    await refused_then_adopted(moved)
    await check_moved(settings, moved, before, lower=False)


@pytest.mark.parametrize("link", [False, True], ids=["copy", "link"])
async def test_pg_upgrade_keeps_the_log(
    settings: Settings, private_cluster: Cluster, second_cluster: Cluster, link: bool
) -> None:
    private_cluster.set_next_transaction_id(OLD_COUNTER)
    before = await write(settings, private_cluster.create_database(DATABASE))
    private_cluster.upgrade_to(second_cluster, link)
    upgraded = second_cluster.url(DATABASE)
    await refused_then_adopted(upgraded)
    # pg_upgrade carries the counter over: new ids come after the old ones.
    await check_moved(settings, upgraded, before, lower=False)


async def test_a_log_restored_from_before_epochs_is_adopted_after_it_is_migrated(
    settings: Settings, private_cluster: Cluster, second_cluster: Cluster
) -> None:
    """A dump from before migration 0005, restored into a cluster with a lower counter: the
    migration cannot know the old cluster, so serving waits for the adoption; then a rebuild
    replays the old log and the site goes on."""
    private_cluster.set_next_transaction_id(OLD_COUNTER)
    old = private_cluster.create_database(DATABASE)
    run_in_thread(migrate.upgrade, old, "0004")
    pool = await asyncpg.create_pool(old, min_size=1, max_size=2)
    try:
        site = await make_site(pool)
        post = {"site": site.site, "post_id": "p", "title": "T", "labels": [],
                "url": "https://b.example/p", "published_at": "2026-11-20T10:00:00Z"}  # fmt: skip
        await pool.execute(
            """INSERT INTO events (stream_id, version, event_id, site, type, schema_version,
                                   data, metadata)
               VALUES ($1, 1, gen_random_uuid(), $2, 'post.published', 1, $3, '{}')""",
            f"post:{site.site}:p",
            site.site,
            json.dumps(post),
        )
    finally:
        await pool.close()
    moved = private_cluster.copy_database_to(second_cluster, DATABASE)
    assert threadlog(moved, "adopt-cluster").stderr.startswith("threadlog: NotMigrated: ")
    assert threadlog(moved, "migrate").returncode == 0
    await refused_then_adopted(moved)
    rebuilt = threadlog(moved, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    async with serving(settings, database_url=moved) as client:
        posted = await comment(client, site, "p", "after the move")
        events = (await feed(client, site, 2, limit=1000))["events"]
    assert [event["type"] for event in events] == ["post.published", "comment.posted"]
    assert events[1]["data"]["comment_id"] == posted["id"]
    assert not events[0]["cursor"].startswith("2:") and events[1]["cursor"].startswith("2:")


async def test_a_new_epoch_started_under_load_loses_repeats_and_reorders_nothing(
    private_cluster: Cluster,
) -> None:
    """`adopt-cluster --new-epoch` (after a point-in-time recovery) while writers append and a
    subscriber reads: appends wait for it, and none lands in the epoch it closed."""
    url = private_cluster.create_database(DATABASE)
    run_in_thread(migrate.upgrade, url)
    pool = await asyncpg.create_pool(url, min_size=2, max_size=12)
    application = Application(pool)
    try:
        site = (await make_site(pool)).site
        posts = [f"p{n}" for n in range(4)]
        for post_id in posts:
            await application.execute(publish_post(post_id, site=site), META)
        expected = len(posts) + WRITERS * PER_WRITER
        seen: list[RecordedEvent] = []

        async def subscriber() -> None:
            cursor = START
            while len(seen) < expected:
                batch = await store.read_all(pool, cursor, 50, site=site)
                seen.extend(batch)
                cursor = batch[-1].cursor if batch else cursor
                await asyncio.sleep(0 if batch else 0.005)

        async def writer(number: int) -> None:
            for n in range(PER_WRITER):
                post_id = posts[(number + n) % len(posts)]
                await application.execute(post_comment(site=site, post_id=post_id), META)

        async def adopt_midway() -> Epoch:
            await wait_until(lambda: has_read(len(posts) + PER_WRITER), "the first comments")
            async with pool.acquire() as connection:
                return await adopt_cluster(connection, new_epoch=True)

        async def has_read(count: int) -> bool:
            return len(seen) >= count

        reading = asyncio.create_task(subscriber())
        epoch, *_ = await asyncio.gather(
            adopt_midway(), *(writer(number) for number in range(WRITERS))
        )
        await asyncio.wait_for(reading, timeout=60)
        whole = await store.read_all(pool, START, 10_000, site=site)
    finally:
        await application.close()
        await pool.close()
    assert epoch.started and epoch.epoch == 2
    assert len({event.event_id for event in seen}) == len(seen) == expected
    assert [event.event_id for event in whole] == [event.event_id for event in seen]
    epochs = [event.epoch for event in seen]
    assert epochs == sorted(epochs) and epochs[0] == 1 and epochs[-1] == 2


async def test_a_log_moved_under_a_running_service_answers_503_until_adopted(
    private_cluster: Cluster, settings: Settings
) -> None:
    """Appends refuse (503 with advice, one log line, no traceback) when the log's latest
    epoch is another cluster's, as after a restore behind a running service; reads go on."""
    url = private_cluster.create_database(DATABASE)
    run_in_thread(migrate.upgrade, url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        site = await make_site(pool)
        async with serving(settings, database_url=url) as client:
            post_id = await publish(client, site)
            await comment(client, site, post_id, "before the move")
            # What a restore from another cluster looks like to this one.
            await pool.execute("UPDATE cluster_epochs SET system_identifier = 1")
            refused = await client.post(
                f"/v1/sites/{site.site}/posts/{post_id}/comments",
                json={"author": {"name": "Ann"}, "body": "after the move"},
            )
            assert refused.status == 503, await refused.text()
            problem = await refused.json()
            assert problem["type"].endswith("/problems/cluster-not-adopted")
            assert "threadlog adopt-cluster" in problem["detail"]
            assert refused.headers["Retry-After"] == "30"
            read = await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments")
            assert read.status == 200 and (await read.json())["total"] == 1
            async with pool.acquire() as connection:
                await adopt_cluster(connection)
            await comment(client, site, post_id, "after adopting")
            assert (await thread(client, site, post_id))["total"] == 2
    finally:
        await pool.close()
