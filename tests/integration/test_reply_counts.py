"""Replies to a popular comment never write its row; a hidden comment counts its live replies."""

import asyncio

import asyncpg

from service.domain.commands import DeleteComment
from service.domain.events import DeletedBy
from service.write.application import Application
from tests.builders import META, make_site, post_comment, publish_post

ROW = """SELECT xmin::text AS version, status, live_descendants FROM thread_comments
         WHERE site = $1 AND comment_id = $2"""


def deletion(site: str, comment_id: str) -> DeleteComment:
    return DeleteComment(
        site=site,
        comment_id=comment_id,
        by=DeletedBy.MODERATOR,
        reason=None,
        delete_token_sha256=None,
    )


async def test_replies_leave_a_published_parent_row_alone(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    await application.execute(publish_post(site=site), META)
    parent = post_comment(site=site)
    await application.execute(parent, META)
    before = await pool.fetchrow(ROW, site, parent.comment_id)
    replies = [post_comment(site=site, parent_id=parent.comment_id) for _ in range(8)]
    await asyncio.gather(*(application.execute(reply, META) for reply in replies))
    nested = post_comment(site=site, parent_id=replies[0].comment_id)
    await application.execute(nested, META)
    after = await pool.fetchrow(ROW, site, parent.comment_id)
    assert after["version"] == before["version"], "a reply wrote its parent's row"
    assert after["live_descendants"] == 0


async def test_a_hidden_comment_counts_the_live_replies_below_it(pool: asyncpg.Pool) -> None:
    site = (await make_site(pool)).site
    application = Application(pool)
    await application.execute(publish_post(site=site), META)
    parent = post_comment(site=site)
    await application.execute(parent, META)
    replies = [post_comment(site=site, parent_id=parent.comment_id) for _ in range(3)]
    for reply in replies:
        await application.execute(reply, META)
    nested = post_comment(site=site, parent_id=replies[0].comment_id)
    await application.execute(nested, META)

    await application.execute(deletion(site, parent.comment_id), META)
    assert (await pool.fetchrow(ROW, site, parent.comment_id))["live_descendants"] == 4
    await application.execute(deletion(site, replies[1].comment_id), META)
    assert (await pool.fetchrow(ROW, site, parent.comment_id))["live_descendants"] == 3
    later = post_comment(site=site, parent_id=replies[2].comment_id)
    await application.execute(later, META)
    assert (await pool.fetchrow(ROW, site, parent.comment_id))["live_descendants"] == 4
    # A hidden reply counts its own; its hidden parent keeps counting what is published.
    await application.execute(deletion(site, replies[0].comment_id), META)
    assert (await pool.fetchrow(ROW, site, replies[0].comment_id))["live_descendants"] == 1
    assert (await pool.fetchrow(ROW, site, parent.comment_id))["live_descendants"] == 3
    assert (await pool.fetchrow(ROW, site, nested.comment_id))["live_descendants"] == 0
