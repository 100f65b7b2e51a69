"""Read models ignore an older event delivered again after later ones."""

import asyncpg
import pytest

from service.eventstore import store
from service.eventstore.streams import post_stream_id
from service.projections import INLINE, posts
from tests.builders import Client, SiteKeys, comment, publish
from tests.replays import site_tables


async def rows(connection: asyncpg.Connection, site: str) -> dict[str, list[tuple[object, ...]]]:
    found = {}
    for table in site_tables():
        records = await connection.fetch(f"SELECT * FROM {table} WHERE site = $1", site)
        found[table] = sorted((tuple(record.values()) for record in records), key=repr)
    return found


async def test_each_older_event_applied_again_alone_changes_nothing(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
) -> None:
    post_id = await publish(client, site, labels=["News"])
    parent = await comment(client, site, post_id)
    await comment(client, site, post_id, "reply", parent["id"])
    moderator = site.auth("moderator")
    await client.delete(f"/v1/sites/{site.site}/comments/{parent['id']}", headers=moderator)
    await publish(client, site, post_id, labels=["Other"])
    await client.delete(f"/v1/sites/{site.site}/posts/{post_id}", headers=moderator)
    async with pool.acquire() as connection:
        history = await store.read_stream(connection, post_stream_id(site.site, post_id))
        assert len(history) == 6
        before = await rows(connection, site.site)
        for recorded in history:
            transaction = connection.transaction()
            await transaction.start()
            try:
                for projection in INLINE:
                    await projection.apply(connection, [recorded])
                assert await rows(connection, site.site) == before, recorded.type
            finally:
                await transaction.rollback()


@pytest.mark.parametrize("lookup_above", [0, 10_000], ids=["looked-up", "pipelined"])
async def test_a_posts_count_takes_each_event_once_however_the_batch_overlaps_it(
    client: Client,
    site: SiteKeys,
    pool: asyncpg.Pool,
    lookup_above: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both ways of applying a run of count changes (see projections/posts.py): a batch that the
    # row has partly seen adds only what it has not, and one it has wholly seen adds nothing.
    monkeypatch.setattr(posts, "LOOKUP_ABOVE", lookup_above)
    post_id = await publish(client, site)
    for _ in range(6):
        await comment(client, site, post_id)
    count = "SELECT comment_count FROM posts WHERE site = $1 AND post_id = $2"
    async with pool.acquire() as connection:
        history = await store.read_stream(connection, post_stream_id(site.site, post_id))
        comments = history[1:]
        assert await connection.fetchval(count, site.site, post_id) == 6
        for seen in (0, 3, 6):
            # The row as if it had seen only the first `seen` comments.
            known = comments[seen - 1].position if seen else history[0].position
            await connection.execute(
                "UPDATE posts SET comment_count = $3, position = $4"
                " WHERE site = $1 AND post_id = $2",
                site.site, post_id, seen, known,
            )  # fmt: skip
            await posts.apply(connection, comments)
            assert await connection.fetchval(count, site.site, post_id) == 6, seen
            await posts.apply(connection, comments)
            assert await connection.fetchval(count, site.site, post_id) == 6, seen
