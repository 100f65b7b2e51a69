"""Read models ignore an older event delivered again after later ones."""

import asyncpg

from service.eventstore import store
from service.eventstore.streams import post_stream_id
from service.projections import INLINE
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
