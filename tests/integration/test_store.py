"""The event log under concurrency: no lost, repeated or reordered events."""

import asyncio
import secrets
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from service.domain.commands import DeleteComment
from service.domain.events import Author, CommentPosted, DeletedBy
from service.eventstore import appends, store
from service.eventstore.appends import NewEvent, StaleTransactionOrder
from service.eventstore.cursors import START, Cursor
from service.eventstore.streams import post_stream_id
from service.write import decision_state
from service.write.application import Application
from tests.builders import META, make_site, post_comment, publish_post
from tests.waiting import site_events

WRITERS = 16
PER_WRITER = 150


async def test_a_subscriber_sees_every_event_exactly_once_under_16_writers(
    pool: asyncpg.Pool,
) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    posts = [f"p{n}" for n in range(8)]
    for post_id in posts:
        await application.execute(publish_post(post_id, site=site), META)
    expected = len(posts) + WRITERS * PER_WRITER
    done = asyncio.Event()
    seen: list[uuid.UUID] = []

    async def subscriber() -> None:
        cursor = START
        async with pool.acquire() as connection:
            while True:
                batch = await store.read_all(connection, cursor, 100, site=site)
                seen.extend(recorded.event_id for recorded in batch)
                if batch:
                    cursor = batch[-1].cursor
                elif done.is_set() and len(seen) >= expected:
                    return
                else:
                    await asyncio.sleep(0.005)

    async def writer(number: int) -> None:
        for n in range(PER_WRITER):
            # Writers share posts, so appends to one stream also contend for its lock.
            await application.execute(
                post_comment(site=site, post_id=posts[(number + n) % len(posts)]), META
            )

    reading = asyncio.create_task(subscriber())
    await asyncio.gather(*(writer(number) for number in range(WRITERS)))
    done.set()
    await asyncio.wait_for(reading, timeout=60)
    committed = [recorded.event_id for recorded in await site_events(pool, site, expected)]
    assert len(committed) == expected
    assert len(seen) == len(set(seen)), "an event was delivered twice"
    assert seen == committed, "the live reader saw another order or missed events"


# Batched as the service runs, and one command per transaction as many processes would be.
@pytest.mark.parametrize(
    ("writers", "batch_size"), [(4, 64), (24, 1)], ids=["batched", "one-per-transaction"]
)
async def test_within_a_post_the_feed_keeps_the_stream_order(
    pool: asyncpg.Pool, writers: int, batch_size: int
) -> None:
    site = (await make_site(pool)).site
    application = Application(pool, writers=writers, batch_size=batch_size)
    await application.execute(publish_post("hot", site=site), META)

    async def chain(depth: int) -> None:
        parent: str | None = None
        for _ in range(depth):
            command = post_comment(parent_id=parent, site=site, post_id="hot")
            await application.execute(command, META)
            parent = command.comment_id
        assert parent is not None
        deletion = DeleteComment(
            site=site,
            comment_id=parent,
            by=DeletedBy.MODERATOR,
            reason=None,
            delete_token_sha256=None,
        )
        await application.execute(deletion, META)

    await asyncio.gather(*(chain(6) for _ in range(24)))
    events = await site_events(pool, site, 1 + 24 * 7)
    assert [recorded.version for recorded in events] == list(range(1, len(events) + 1))
    arrived: set[str] = set()
    for recorded in events:
        data = recorded.data
        if recorded.type == "comment.replied":
            assert data["parent_id"] in arrived, "a reply arrived before its parent"
        if recorded.type == "comment.deleted":
            assert data["comment_id"] in arrived, "a delete arrived before its comment"
        if "comment_id" in data:
            arrived.add(data["comment_id"])


async def test_an_append_with_an_older_transaction_id_is_refused(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    await application.execute(publish_post(site=site), META)
    stream_id = post_stream_id(site, "p")
    async with pool.acquire() as early:
        transaction = early.transaction()
        await transaction.start()
        try:
            await early.fetchval("SELECT pg_current_xact_id()")  # takes its id now
            await application.execute(post_comment(site=site), META)  # a newer id writes first
            late = post_comment(site=site)
            loaded = await decision_state.load_for_update(early, [(stream_id, late)])
            with pytest.raises(StaleTransactionOrder):
                await append_one(early, loaded.threads[stream_id], site, stream_id)
        finally:
            await transaction.rollback()


async def append_one(
    connection: asyncpg.Connection, loaded: decision_state.LoadedThread, site: str, stream_id: str
) -> None:
    event = CommentPosted(
        site=site,
        post_id="p",
        comment_id=str(uuid.uuid4()),
        author=Author(name="w"),
        body="b",
        body_html="<p>b</p>",
        created_at=datetime.now(UTC),
    )
    new = NewEvent(stream_id, loaded.version + 1, site, event, META)
    await appends.append(connection, [new], {stream_id: loaded.last_writer})


async def test_the_application_retries_a_stale_transaction(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    await application.execute(publish_post(site=site), META)
    results = await asyncio.gather(
        *(application.execute(post_comment(site=site), META) for _ in range(40))
    )
    assert all(len(outcome.events) == 1 for outcome in results)
    assert len(await site_events(pool, site, 41)) == 41


async def test_events_cannot_be_updated_or_deleted(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    await Application(pool).execute(publish_post(site=site), META)
    async with pool.acquire() as connection:
        for statement in (
            "UPDATE events SET type = 'x' WHERE site = $1",
            "DELETE FROM events WHERE site = $1",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await connection.execute(statement, site)
    assert len(await site_events(pool, site, 1)) == 1


MALFORMED = ["", "1", "a-1", "1-a", "-1", "1--1", "9" * 20 + "-1", "1-2-3", "\u0661-1"]
MALFORMED_EPOCHS = [":1-1", "0:1-1", "a:1-1", "2:", "2:1", "1:2:3-4", "2147483648:1-1", "-2:1-1"]


@pytest.mark.parametrize("text", MALFORMED + MALFORMED_EPOCHS)
def test_malformed_cursors_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Cursor.parse(text)


def test_a_cursor_round_trips() -> None:
    for epoch in (1, 2 + secrets.randbelow(2**31 - 2)):
        cursor = Cursor(epoch, secrets.randbelow(2**40), secrets.randbelow(2**40))
        assert Cursor.parse(str(cursor)) == cursor


def test_cursors_of_the_first_epoch_keep_the_text_they_had_before_epochs() -> None:
    assert Cursor.parse("67189-3") == Cursor(1, 67189, 3) == Cursor.parse("1:67189-3")
    assert str(Cursor(1, 67189, 3)) == "67189-3"
    assert str(Cursor(2, 67189, 3)) == "2:67189-3"
    assert str(START) == "0-0"


async def test_concurrent_comments_on_different_posts_commit_in_one_transaction(
    pool: asyncpg.Pool,
) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)  # as the service runs it
    posts = [f"p{n}" for n in range(12)]
    await asyncio.gather(
        *(application.execute(publish_post(post_id, site=site), META) for post_id in posts)
    )
    outcomes = await asyncio.gather(
        *(application.execute(post_comment(site=site, post_id=post_id), META) for post_id in posts)
    )
    transactions = {recorded.transaction_id for outcome in outcomes for recorded in outcome.events}
    assert len(transactions) == 1, "queued comments on different posts were committed apart"


async def test_a_kept_idempotency_key_is_read_on_a_connection_that_never_saw_a_uuid_array(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The batch's one read returns anonymous records, whose fields asyncpg decodes only for
    the types it knows without asking the server: a fresh connection must read kept keys."""
    site = (await make_site(pool)).site
    await Application(pool).execute(publish_post(site=site), META)
    key, events = secrets.token_bytes(32), [uuid.uuid4(), uuid.uuid4()]
    await pool.execute(
        "INSERT INTO idempotency_keys (key_sha256, request_sha256, event_ids) VALUES ($1, $2, $3)",
        key,
        b"request",
        events,
    )
    fresh = await asyncpg.connect(database_url)
    try:
        stream_id = post_stream_id(site, "p")
        loaded = await decision_state.load_all(fresh, [(stream_id, post_comment(site=site))], [key])
    finally:
        await fresh.close()
    assert loaded.kept[key].request_sha256 == b"request"
    assert loaded.kept[key].event_ids == events
