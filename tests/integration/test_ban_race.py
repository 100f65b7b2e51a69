"""A ban that removes its author's comments and a new comment by that author, at once: the
comment is either removed with the others or refused, never left standing."""

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from service.domain.commands import BanAuthor
from service.domain.events import BanMatch
from service.write import batches
from service.write.application import Application
from tests.builders import META, make_site, post_comment, publish_post

AUTHOR = {"author_ip_hash": "ip-of-the-troll"}


async def test_a_comment_written_while_a_ban_waits_is_removed_by_it(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    try:
        for post_id in ("first", "second"):
            await application.execute(publish_post(post_id, site=site), META)
        first = post_comment(site=site, post_id="first", **AUTHOR)
        await application.execute(first, META)
        late = post_comment(site=site, post_id="second", **AUTHOR)
        ban = BanAuthor(
            site=site,
            ban_id=str(uuid.uuid4()),
            comment_id=first.comment_id,
            match=BanMatch.IP,
            expires_at=None,
            remove_comments=True,
            at=datetime.now(UTC),
        )
        async with pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            # The late comment is decided (no ban yet) but not committed when the ban starts.
            await batches.write_commands(connection, [late], META)
            banning = asyncio.create_task(application.execute(ban, META))
            await asyncio.sleep(0.3)
            assert not banning.done(), "the ban did not wait for the comment being written"
            await transaction.commit()
        await banning
        statuses = dict(
            await pool.fetch("SELECT comment_id, status FROM thread_comments WHERE site = $1", site)
        )
    finally:
        await application.close()
    assert statuses == {first.comment_id: "rejected", late.comment_id: "rejected"}
