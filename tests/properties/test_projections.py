"""Properties of the inline read models, against the real PostgreSQL.

Each example folds a random history of commands through `Application.execute` on a fresh site,
a group of concurrent commands at a time, and checks every accept/reject against an independent
model (in the order the log tells); then it compares the read models with a replay of the log,
with themselves after every event is applied again, and, with the reads built on them, with the
model.

Replaying the whole log costs as much as the log is long (every other test's events too), so
most examples replay only their site's events, exactly as `rebuild.replay` does but filtered by
site (every projection statement is keyed by site, so the rows of that site are the same); a few
examples, each with several sites, replay the whole log (`tests/replays.py`).
"""

import asyncio
import json
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.db import Connection, Pool
from service.domain.errors import DomainError
from service.domain.labels import label_key, unique_labels
from service.eventstore import cursors, store
from service.eventstore.streams import post_stream_id
from service.ops.rebuild import prepare
from service.ops.replay import BATCH
from service.projections import INLINE, apply_all
from service.read import threads
from service.read.threads import thread_body
from service.write.application import Application
from tests.builders import META, Client, make_site, publish_post
from tests.properties.model import START, Model, post_id, same_label
from tests.properties.strategies import POST_SLOTS, Step, histories
from tests.replays import replay_into, site_tables

# Not "rebuild": that one belongs to `threadlog rebuild`.
SCRATCH = "replay_check"
POSTS = [post_id(slot) for slot in range(POST_SLOTS)]
EVERYTHING = 1_000_000
# How long a late-committing transaction elsewhere on the server may hide our events from
# `read_all` (it reads below the cluster-wide snapshot xmin).
SETTLE_SECONDS = 30

examples = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Rows = dict[str, list[tuple[Any, ...]]]
AfterGroup = Callable[[str, Model], Awaitable[None]]


@dataclass(frozen=True)
class History:
    site: str
    model: Model


async def run(
    pool: Pool, groups: list[list[Step]], after_group: AfterGroup | None = None
) -> History:
    """Execute the history on a fresh site, a group at a time (its commands concurrently, so
    they share write batches); every outcome must be one the model allows."""
    site = (await make_site(pool)).site
    application = Application(pool)
    model = Model()
    index = 0
    try:
        for group in groups:
            model.begin_group()
            commands = []
            for step in group:
                commands.append(model.command_for(site, index, step))
                index += 1
            outcomes = await asyncio.gather(
                *(application.execute(command, META) for command in commands),
                return_exceptions=True,
            )
            logged, silent, rejected = [], [], []
            for command, outcome in zip(commands, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    rejected.append((command, type(outcome)))
                    event(f"rejected {type(outcome).__name__}")
                elif isinstance(outcome, BaseException):
                    raise outcome
                elif outcome.events:
                    first = outcome.events[0]
                    logged.append(((first.epoch, first.transaction_id, first.position), command))
                else:
                    silent.append(command)
            in_log_order = [command for _, command in sorted(logged, key=lambda pair: pair[0])]
            model = model.linearized(in_log_order, silent, rejected)
            if len(group) > 1:
                commits = len({cursor[:2] for cursor, _ in logged})
                shown = "2+" if commits > 1 else str(commits)
                event(f"a group of {min(len(group), 4)}+ in {shown} commits")
            if after_group is not None:
                await after_group(site, model)
    finally:
        await application.close()
    event(f"accepted {len(model.accepted) // 5 * 5}+ commands")
    await settled(pool, site)
    return History(site, model)


async def settled(pool: Pool, site: str) -> None:
    """Wait until `read_all` sees every event of the site (the streams see them at once)."""
    async with pool.acquire() as connection:
        written = 0
        for post in POSTS:
            written += len(await store.read_stream(connection, post_stream_id(site, post)))
        for _ in range(SETTLE_SECONDS * 100):
            visible = await store.read_all(connection, cursors.START, EVERYTHING, site=site)
            if len(visible) == written:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"read_all still hides events of {site} after {SETTLE_SECONDS}s")


async def site_rows(
    connection: Connection, schema: str, site: str, names: Sequence[str] | None = None
) -> Rows:
    rows: Rows = {}
    for table in site_tables(names):
        found = await connection.fetch(f"SELECT * FROM {schema}.{table} WHERE site = $1", site)
        rows[table] = sorted((tuple(row.values()) for row in found), key=repr)
    return rows


async def replay_site(connection: Connection, site: str) -> None:
    """`replays.replay_into`, for one site's events."""
    await prepare(connection, SCRATCH)
    try:
        cursor = cursors.START
        while True:
            async with connection.transaction():
                batch = await store.read_all(connection, cursor, BATCH, site=site)
                await apply_all(connection, batch)
            if not batch:
                return
            cursor = batch[-1].cursor
    finally:
        await connection.execute("RESET search_path")


@asynccontextmanager
async def replayed(pool: Pool, site: str) -> AsyncIterator[Connection]:
    """A connection, and the site replayed into the scratch schema for as long as it's held."""
    async with pool.acquire() as connection:
        try:
            await replay_site(connection, site)
            yield connection
        finally:
            await connection.execute("RESET search_path")
            await connection.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")


@asynccontextmanager
async def rolled_back(connection: Connection) -> AsyncIterator[None]:
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield
    finally:
        await transaction.rollback()


@examples
@given(steps=histories())
async def test_the_inline_read_models_equal_a_replay_of_the_log(
    pool: Pool, steps: list[list[Step]]
) -> None:
    history = await run(pool, steps)
    async with replayed(pool, history.site) as connection:
        inline = await site_rows(connection, "public", history.site)
        replay = await site_rows(connection, SCRATCH, history.site)
    assert replay == inline


@settings(examples, max_examples=4)
@given(many=st.lists(histories(), min_size=1, max_size=4))
async def test_the_inline_read_models_equal_a_replay_of_the_whole_log(
    pool: Pool, many: list[list[list[Step]]]
) -> None:
    sites = [(await run(pool, steps)).site for steps in many]
    async with pool.acquire() as connection:
        try:
            await replay_into(connection, SCRATCH)
            for site in sites:
                inline = await site_rows(connection, "public", site)
                replay = await site_rows(connection, SCRATCH, site)
                assert replay == inline, site
        finally:
            await connection.execute("RESET search_path")
            await connection.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")


@examples
@given(steps=histories())
async def test_applying_any_event_a_second_time_changes_nothing(
    pool: Pool, steps: list[list[Step]]
) -> None:
    history = await run(pool, steps)
    site = history.site
    async with pool.acquire() as connection:
        events = await store.read_all(connection, cursors.START, EVERYTHING, site=site)
        by_stream = [
            recorded
            for post in POSTS
            for recorded in await store.read_stream(connection, post_stream_id(site, post))
        ]
        assert sorted(e.position for e in by_stream) == sorted(e.position for e in events)

        # Redelivered after the fact: the whole log again, over the final state.
        for projection in INLINE:
            before = await site_rows(connection, "public", site, projection.TABLES)
            async with rolled_back(connection):
                for recorded in events:
                    await projection.apply(connection, [recorded])
                after = await site_rows(connection, "public", site, projection.TABLES)
            assert after == before, projection.NAME

        # Delivered twice in a row, from zero: ends where the inline models are.
        try:
            await prepare(connection, SCRATCH)
            for recorded in events:
                async with connection.transaction():
                    await apply_all(connection, [recorded])
                    await apply_all(connection, [recorded])
            twice = await site_rows(connection, SCRATCH, site)
            inline = await site_rows(connection, "public", site)
        finally:
            await connection.execute("RESET search_path")
            await connection.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")
    assert twice == inline


async def thread(
    connection: Connection | Pool, site: str, post: str, *, newest_first: bool
) -> tuple[bool, bytes] | None:
    """Whether the post is deleted, and the GET thread body, from the tables on the search path."""
    page = await threads.thread_page(
        connection, site, post, newest_first=newest_first, after=None, limit=200
    )
    return None if page is None else (page.deleted, thread_body(post, page))


def shape(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A thread's views reduced to what the model knows; a tombstone shows no author or body."""
    shaped = []
    for view in views:
        deleted_by = view["deleted"]["by"] if view["deleted"] else None
        assert (view["author"] is None) == (deleted_by is not None), view
        assert (view["body_html"] is None) == (deleted_by is not None), view
        shaped.append({"id": view["id"], "deleted": deleted_by, "replies": shape(view["replies"])})
    return shaped


async def assert_rows_match(connection: Connection, site: str, model: Model) -> None:
    """The read-model rows themselves, against the model (not only what reads show of them)."""
    posts = await connection.fetch("SELECT * FROM posts WHERE site = $1", site)
    assert {
        row["post_id"]: (
            row["title"], row["url"], tuple(row["labels"]), row["published_at"], row["deleted"],
            row["comment_count"],
        )
        for row in posts
    } == {
        post_id: (
            post.title, post.url, post.labels, post.published_at, post.deleted,
            model.live_count(post_id),
        )
        for post_id, post in model.posts.items()
    }  # fmt: skip

    comments = await connection.fetch("SELECT * FROM thread_comments WHERE site = $1", site)
    assert {
        row["comment_id"]: (
            row["post_id"], row["parent_id"], row["root_id"], row["ancestors"], row["deleted_by"],
            row["live_descendants"], row["status"] == "deleted",
        )
        for row in comments
    } == {
        comment_id: (
            c.post_id, c.parent_id, ([*model.ancestors(comment_id), comment_id])[0],
            model.ancestors(comment_id), c.deleted_by,
            # Only a hidden comment keeps its count (a published one is shown anyway).
            model.live_descendants(comment_id) if c.deleted_by is not None else 0,
            c.deleted_by is not None,
        )
        # A deleted post's thread keeps its rows (reads answer 410 before looking at them).
        for comment_id, c in model.comments.items()
    }  # fmt: skip

    labels = await connection.fetch("SELECT * FROM labels WHERE site = $1", site)
    assert {row["label"]: row["post_count"] for row in labels} == model.label_index()
    label_posts = await connection.fetch("SELECT * FROM label_posts WHERE site = $1", site)
    assert {
        (row["label_key"], row["post_id"], row["label"], row["published_at"]) for row in label_posts
    } == {
        (label_key(model.shown(label)), post_id, spelling, model.posts[post_id].published_at)
        for label in model.labels.values()
        for post_id, spelling in label.spellings.items()
    }


def tombstones(views: list[dict[str, Any]]) -> int:
    return sum(bool(view["deleted"]) + tombstones(view["replies"]) for view in views)


def served_threads_are_current(client: Client, pool: Pool) -> AfterGroup:
    """GET thread through the app (which keeps bodies while the post's position is unchanged)
    answers what the projection tables say now. The writes came from outside the app, which
    hears of them by NOTIFY a moment later: the reader passes the position its writes reached
    (as a write's answer says it with a replica), which no kept stamp may answer."""

    async def check(site: str, model: Model) -> None:
        written = await pool.fetchval("SELECT pg_current_wal_lsn()::text")
        for post in POSTS:
            for newest_first in (False, True):
                response = await client.get(
                    f"/v1/sites/{site}/posts/{post}/comments",
                    params={"sort": "newest" if newest_first else "oldest", "limit": "200"},
                    headers={"Threadlog-Position": written},
                )
                known = model.posts.get(post)
                if known is None or known.deleted:
                    assert response.status == (404 if known is None else 410), post
                    continue
                assert response.status == 200, await response.text()
                current = await thread(pool, site, post, newest_first=newest_first)
                assert current is not None
                assert await response.read() == current[1], post

    return check


@examples
@given(steps=histories())
async def test_reads_agree_with_a_replay_and_with_an_independent_model(
    pool: Pool, client: Client, steps: list[list[Step]]
) -> None:
    history = await run(pool, steps, served_threads_are_current(client, pool))
    site, model = history.site, history.model
    async with replayed(pool, site) as connection:
        await assert_rows_match(connection, site, model)
        for post in POSTS:
            for newest_first in (False, True):
                inline = await thread(connection, site, post, newest_first=newest_first)
                await connection.execute(f"SET search_path = {SCRATCH}, public")
                replay = await thread(connection, site, post, newest_first=newest_first)
                await connection.execute("RESET search_path")
                assert replay == inline, (post, newest_first)

            found = await thread(connection, site, post, newest_first=False)
            known = model.posts.get(post)
            if known is None:
                assert found is None, post
                continue
            assert found is not None, post
            deleted, body = found
            assert deleted == known.deleted, post
            page = json.loads(body)
            assert page["total"] == model.live_count(post), post
            if not known.deleted:
                assert page["next"] is None
                expected = model.thread(post)
                assert shape(page["comments"]) == expected, post
                event(f"tombstones shown: {min(tombstones(expected), 2)}")

        counts = await threads.counts(pool, site, POSTS)
        assert counts == {post: model.live_count(post) for post in POSTS}

        index = await threads.labels(pool, site, by_count=False)
        assert {row["label"]: row["post_count"] for row in index} == model.label_index()
        for spelling, posts in model.label_posts().items():
            # Change case on the decomposed form: str.upper() of a composed letter may move a
            # combining mark onto another letter, which is a different label.
            decomposed = unicodedata.normalize("NFD", spelling)
            for asked in (spelling, decomposed.upper(), f" {decomposed.lower()} "):
                tagged = await threads.label_posts(pool, site, label_key(asked), None, 100)
                assert {row["post_id"] for row in tagged} == posts, (spelling, asked)


GREEK = "ᾷσμα"


async def test_a_title_cased_label_is_the_same_label(pool: Pool) -> None:
    # 'ᾼ͂σμα' is U+0391 U+0342 U+0345 ...: no composed capital alpha takes the perispomeni, so
    # folding case after composing splits it from 'ᾷσμα'.
    assert same_label(GREEK) == same_label(GREEK.title())  # Unicode canonical caseless match
    site = (await make_site(pool)).site
    application = Application(pool)
    for number, label in enumerate((GREEK, GREEK.title())):
        command = publish_post(post_id(number), site=site, labels=unique_labels([label]), at=START)
        await application.execute(command, META)
    await application.close()
    index = await threads.labels(pool, site, by_count=False)
    assert [(row["label"], row["post_count"]) for row in index] == [(GREEK, 2)]


async def test_a_label_keeps_its_spelling_through_a_replay_when_two_posts_bring_it_in(
    pool: Pool,
) -> None:
    site = (await make_site(pool)).site
    # Two writers, as two processes (or two of one process's shards) would be.
    first, second = Application(pool), Application(pool)

    await first.execute(publish_post("p0", site=site, labels=(), at=START), META)
    async with pool.acquire() as holder:
        # Holds the first writer between its append (its transaction id is taken) and its
        # read-model updates, as a slow statement or a busy server can.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT FROM posts WHERE site = $1 AND post_id = 'p0' FOR UPDATE", site
        )
        slow = asyncio.create_task(
            first.execute(publish_post("p0", site=site, labels=("Python",), at=START), META)
        )
        for _ in range(500):
            if await pool.fetchval(LOCK_WAITERS):
                break
            await asyncio.sleep(0.01)
        await second.execute(publish_post("p1", site=site, labels=("PYTHON",), at=START), META)
        await transaction.rollback()
    await slow
    await settled(pool, site)
    async with replayed(pool, site) as connection:
        inline = await site_rows(connection, "public", site, ["labels"])
        replay = await site_rows(connection, SCRATCH, site, ["labels"])
    assert replay == inline


LOCK_WAITERS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
"""
