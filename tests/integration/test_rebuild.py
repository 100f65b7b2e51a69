"""`threadlog rebuild` reproduces every read byte for byte, even while writers go on."""

import asyncio
import contextlib
import gc
from datetime import UTC, datetime

import asyncpg
import pytest

from service.domain.events import Author, CommentPosted
from service.eventstore import appends, store
from service.eventstore.streams import post_stream_id
from service.http.keys import REPRESENTATIONS
from service.ops import rebuild as rebuilding
from service.ops import replay as replaying
from service.ops.rebuild import rebuild
from service.projections import apply_all, tables
from tests.builders import META, Client, SiteKeys, comment, publish
from tests.replays import replay_into


async def every_read(client: Client, site: SiteKeys, posts: list[str]) -> list[bytes]:
    base = f"/v1/sites/{site.site}"
    paths = [
        f"{base}/labels",
        f"{base}/labels?sort=count",
        f"{base}/labels/news/posts?limit=1",
        f"{base}/counts?" + "&".join(f"post={post}" for post in posts),
    ]
    for post in posts:
        paths += [
            f"{base}/posts/{post}",
            f"{base}/posts/{post}/comments",
            f"{base}/posts/{post}/comments?sort=newest&limit=1",
        ]
    reads = []
    for path in paths:
        response = await client.get(path)
        reads.append(
            f"{response.status} {response.headers.get('ETag')} ".encode() + await response.read()
        )
    return reads


# As tests call it (one connection), with a second one that reads ahead, and as the CLI does
# (one reads ahead, three apply the models in parallel).
@pytest.mark.parametrize(
    ("read_ahead", "appliers"),
    [(False, 0), (True, 0), (True, 2)],
    ids=["one-connection", "read-ahead", "parallel"],
)
async def test_rebuild_reproduces_every_read(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    read_ahead: bool,
    appliers: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(replaying, "BATCH", 4)  # many batches, each read while one applies
    posts = [await publish(client, site, labels=["News", f"L{n}"]) for n in range(3)]
    for post_id in posts:
        parent = await comment(client, site, post_id, "**hi** <b>x</b>")
        reply = await comment(client, site, post_id, "reply", parent["id"])
        await comment(client, site, post_id, "nested", reply["id"])
        await client.delete(
            f"/v1/sites/{site.site}/comments/{parent['id']}", headers=site.auth("moderator")
        )
    await client.delete(f"/v1/sites/{site.site}/posts/{posts[2]}", headers=site.auth("moderator"))
    before = await every_read(client, site, posts)
    async with contextlib.AsyncExitStack() as stack:
        connection, reader, *more = [
            await stack.enter_async_context(pool.acquire()) for _ in range(2 + appliers)
        ]
        table_before = await connection.fetchval("SELECT 'thread_comments'::regclass::oid")
        chosen = reader if read_ahead else None
        replayed = await rebuild(connection, reader=chosen, appliers=more)
        table_after = await connection.fetchval("SELECT 'thread_comments'::regclass::oid")
    assert replayed >= 3 * 5 + 1
    assert table_after != table_before, "the rebuilt table was not swapped in"
    client.app[REPRESENTATIONS].entries.clear()  # read the rebuilt tables, not kept bodies
    assert await every_read(client, site, posts) == before


async def test_writes_during_a_rebuild_are_kept(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            await comment(client, site, post_id)
            written += 1

    writers = [asyncio.create_task(writer()) for _ in range(4)]
    await asyncio.sleep(0.05)
    async with pool.acquire() as connection:
        await rebuild(connection)
    stop.set()
    await asyncio.gather(*writers)
    counts = await (await client.get(f"/v1/sites/{site.site}/counts?post={post_id}")).json()
    assert counts["counts"][post_id] == written > 0
    async with pool.acquire() as connection:
        await replay_into(connection, "rebuild_check")
        try:
            for table in tables():
                live = await connection.fetch(f"SELECT * FROM public.{table} ORDER BY 1, 2, 3")
                replay = await connection.fetch(
                    f"SELECT * FROM rebuild_check.{table} ORDER BY 1, 2, 3"
                )
                assert live == replay, table
        finally:
            await connection.execute("DROP SCHEMA rebuild_check CASCADE")


INDEXES = """
SELECT tablename, regexp_replace(indexdef, ' ON \\w+\\.', ' ON ') AS definition
FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1::text[])
ORDER BY 1, 2
"""


async def test_a_rebuild_makes_every_index_again(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    await comment(client, site, post_id)
    async with pool.acquire() as connection:
        before = await connection.fetch(INDEXES, tables())
        deferred = [row for row in before if " WHERE " in row["definition"]]
        assert deferred, "the models have partial indexes, which a rebuild makes last"
        gc_was_enabled = gc.isenabled()
        await rebuild(connection)
        assert gc.isenabled() == gc_was_enabled
        assert await connection.fetch(INDEXES, tables()) == before
        # Every rebuilt table is logged (a replica receives it) and the session is as it was.
        persistence = await connection.fetch(
            "SELECT DISTINCT relpersistence FROM pg_class WHERE relname = ANY($1::text[])"
            " AND relnamespace = 'public'::regnamespace",
            tables(),
        )
        assert [row[0] for row in persistence] == [b"p"]
        # And analysed (reltuples -1: never), so the planner does not take them for empty.
        unanalysed = await connection.fetch(
            "SELECT relname FROM pg_class WHERE relname = ANY($1::text[]) AND relkind = 'r'"
            " AND relnamespace = 'public'::regnamespace AND reltuples < 0",
            tables(),
        )
        assert unanalysed == []
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
        assert await connection.fetchval("SHOW search_path") == '"$user", public'


async def test_a_failing_model_stops_the_rebuild_and_leaves_every_connection_usable(
    client: Client, site: SiteKeys, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.projections import groups

    post_id = await publish(client, site)
    await comment(client, site, post_id)

    async def broken(connection: asyncpg.Connection, events: object) -> None:
        raise RuntimeError("a model failed")

    monkeypatch.setattr(groups, "apply", broken)
    async with contextlib.AsyncExitStack() as stack:
        connection, reader, *more = [
            await stack.enter_async_context(pool.acquire()) for _ in range(4)
        ]
        with pytest.raises(RuntimeError, match="a model failed"):
            await rebuild(connection, reader=reader, appliers=more)
        for used in (connection, *more):
            assert await used.fetchval("SHOW search_path") == '"$user", public'
            assert not used.is_in_transaction()
        assert await connection.fetchval("SELECT to_regnamespace('rebuild')") is None
    counts = await (await client.get(f"/v1/sites/{site.site}/counts?post={post_id}")).json()
    assert counts["counts"][post_id] == 1


async def test_a_model_goes_on_with_later_batches_while_another_is_busy(
    client: Client, site: SiteKeys, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No lane waits for the others at each batch: with the first batch of `groups` held, the
    lane of `posts` applies the next ones (the reader reads ahead of the slowest lane)."""
    from service.projections import groups, posts

    monkeypatch.setattr(replaying, "BATCH", 2)
    post_id = await publish(client, site)
    for _ in range(6):
        await comment(client, site, post_id)
    batches_of_posts = 0
    later_batches_applied = asyncio.Event()
    held: list[bool] = []
    apply_posts, apply_groups = posts.apply, groups.apply

    async def counting(connection: asyncpg.Connection, events: list[object]) -> None:
        nonlocal batches_of_posts
        await apply_posts(connection, events)
        batches_of_posts += 1
        if batches_of_posts == 2:
            later_batches_applied.set()

    async def holding(connection: asyncpg.Connection, events: list[object]) -> None:
        if not held:
            # Not a timing assertion: only how long a lane that waits for the others would
            # hang here before failing the test instead.
            try:
                await asyncio.wait_for(later_batches_applied.wait(), 30)
                held.append(True)
            except TimeoutError:
                held.append(False)
        await apply_groups(connection, events)

    monkeypatch.setattr(posts, "apply", counting)
    monkeypatch.setattr(groups, "apply", holding)
    async with contextlib.AsyncExitStack() as stack:
        connection, reader, *more = [
            await stack.enter_async_context(pool.acquire()) for _ in range(4)
        ]
        # Three lanes: posts is dealt to the second, groups to the third (see `spread`).
        replayed = await rebuild(connection, reader=reader, appliers=more)
    assert held == [True]
    assert replayed >= 7
    counts = await (await client.get(f"/v1/sites/{site.site}/counts?post={post_id}")).json()
    assert counts["counts"][post_id] == 6


async def test_the_collector_runs_every_few_batches_not_after_each(
    client: Client, site: SiteKeys, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replaying, "BATCH", 1)
    monkeypatch.setattr(replaying, "COLLECT_EVERY", 4)
    post_id = await publish(client, site)
    for _ in range(8):
        await comment(client, site, post_id)
    runs: list[int] = []
    collect = gc.collect

    def counting(generation: int = 2) -> int:
        runs.append(generation)
        return collect(generation)

    monkeypatch.setattr(gc, "collect", counting)
    async with pool.acquire() as connection:
        replayed = await rebuild(connection)
    # One run per 4 batches of one event (events that come during the replay are applied in
    # the swap's lock, without batches).
    assert 2 <= len(runs) <= replayed // 4
    assert set(runs) == {1}


async def every_table(connection: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    return {
        table: await connection.fetch(f"SELECT * FROM public.{table} ORDER BY 1, 2, 3")
        for table in tables()
    }


async def test_a_comment_id_the_log_holds_twice_is_rebuilt_as_it_was_applied(
    client: Client, site: SiteKeys, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay inserts new comments into its fresh tables without ON CONFLICT; where the log
    holds an id twice (no command makes that, an import of another log might), the first
    comment stays, as when the events were applied."""
    monkeypatch.setattr(replaying, "BATCH", 3)  # the two in different batches
    first_post, second_post = await publish(client, site), await publish(client, site)
    twice = (await comment(client, site, first_post))["id"]
    for _ in range(3):
        await comment(client, site, second_post)
    stream_id = post_stream_id(site.site, second_post)
    async with pool.acquire() as connection, connection.transaction():
        again = CommentPosted(
            site=site.site,
            post_id=second_post,
            comment_id=twice,
            author=Author(name="Bo"),
            body="again",
            body_html="<p>again</p>",
            created_at=datetime.now(UTC),
        )
        version = await store.stream_version(connection, stream_id) + 1
        new = appends.NewEvent(stream_id, version, site.site, again, META)
        await apply_all(connection, await appends.append(connection, [new], {}))
    async with contextlib.AsyncExitStack() as stack:
        connection, reader, *more = [
            await stack.enter_async_context(pool.acquire()) for _ in range(4)
        ]
        applied = await every_table(connection)
        await rebuild(connection, reader=reader, appliers=more)
        assert await every_table(connection) == applied
    shown = await (await client.get(f"/v1/sites/{site.site}/posts/{second_post}/comments")).json()
    assert twice not in str(shown)


async def test_the_reader_asks_for_the_next_batch_before_decoding_this_one(
    client: Client, site: SiteKeys, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replaying, "BATCH", 2)
    post_id = await publish(client, site)
    for _ in range(4):
        await comment(client, site, post_id)
    steps: list[str] = []
    read_ahead: list[store.Fetched] = []  # (the swap's last read is decoded too)
    fetch_all, decoded = store.fetch_all, store.decoded

    async def fetching(*arguments: object) -> store.Fetched:
        steps.append("fetch")
        read_ahead.append(await fetch_all(*arguments))  # type: ignore[arg-type]
        return read_ahead[-1]

    def decoding(fetched: store.Fetched) -> list[store.RecordedEvent]:
        if any(fetched is read for read in read_ahead):
            steps.append("decode")
        return decoded(fetched)

    monkeypatch.setattr(store, "fetch_all", fetching)
    monkeypatch.setattr(store, "decoded", decoding)
    async with contextlib.AsyncExitStack() as stack:
        connection, reader, *more = [
            await stack.enter_async_context(pool.acquire()) for _ in range(4)
        ]
        await rebuild(connection, reader=reader, appliers=more)
    # The first batch is fetched alone; from then on each fetch of the next batch comes
    # before the decoding of the one in hand, and the empty batch that ends the log is
    # decoded last.
    batches = (len(steps) - 2) // 2
    assert batches >= 3
    assert steps == ["fetch"] + ["fetch", "decode"] * batches + ["decode"]


class Recording:
    """A connection that notes the statements it was given."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.statements: list[str] = []

    async def execute(self, statement: str) -> str:
        self.statements.append(statement)
        return await self.connection.execute(statement)


async def test_the_last_indexes_and_statistics_are_made_on_every_lane(pool: asyncpg.Pool) -> None:
    async with contextlib.AsyncExitStack() as stack:
        lanes = [Recording(await stack.enter_async_context(pool.acquire())) for _ in range(3)]
        deferred = await rebuilding.prepare(lanes[0].connection, "finish_test")
        try:
            await rebuilding.finish(lanes, "finish_test", deferred)  # type: ignore[arg-type]
            made = await lanes[0].connection.fetch(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'finish_test'"
                " AND indexdef LIKE '% WHERE %'"
            )
            analysed = await lanes[0].connection.fetchval(
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'finish_test'::regnamespace"
                " AND relkind = 'r' AND reltuples >= 0"
            )
        finally:
            await rebuilding.leave(lanes[0].connection)
            await lanes[0].connection.execute("DROP SCHEMA finish_test CASCADE")
    statements = [statement for lane in lanes for statement in lane.statements]
    wanted = [*deferred, *(f"ANALYZE finish_test.{table}" for table in tables())]
    assert sorted(statement for statement in statements if "RESET" not in statement) == sorted(
        wanted
    )
    assert sorted(row["indexdef"] for row in made) == sorted(deferred)
    assert analysed == len(tables())
    assert all(lane.statements for lane in lanes)


async def test_a_replay_prepares_its_statements_anew(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    """Statements a connection prepared before keep their plans' history, and against the
    fresh, empty tables PostgreSQL may settle on a plan that scans them: a replay's
    connections forget them."""
    post_id = await publish(client, site)
    await comment(client, site, post_id)
    # (in two pieces, or this statement, prepared too, would count itself)
    prepared = (
        "SELECT count(*) FROM pg_prepared_statements"
        " WHERE statement LIKE '%CROSS JOIN ' || 'LATERAL%'"
    )
    async with pool.acquire() as connection:
        await rebuild(connection)
        assert await connection.fetchval(prepared) > 0  # the replay's own lookups
        await rebuilding.enter(connection, "public")
        try:
            assert await connection.fetchval(prepared) == 0
        finally:
            await rebuilding.leave(connection)
