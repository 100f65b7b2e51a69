"""`threadlog status` below the command line: webhook backlogs, relay checkpoints, rebuilds."""

import asyncpg
import pytest

from service.eventstore.cursors import START
from service.ops import status as status_module
from service.ops.status import status
from service.subscriptions import webhooks
from tests.builders import Client, SiteKeys, publish


async def test_a_webhooks_backlog_counts_its_sites_events_after_its_checkpoint(
    client: Client, pool: asyncpg.Pool, site: SiteKeys, other_site: SiteKeys
) -> None:
    for _ in range(3):
        await publish(client, site)
    await publish(client, other_site)
    every = await webhooks.create(pool, site.site, "http://127.0.0.1:9/x", [], "", START, 20)
    narrow = await webhooks.create(
        pool, site.site, "http://127.0.0.1:9/y", ["comment.posted"], "", START, 20
    )
    assert every is not None and narrow is not None
    try:
        async with pool.acquire() as connection:
            report = await status(connection)
        states = {hook["id"]: hook for hook in report["webhooks"]}
        assert states[str(every.webhook_id)]["backlog"] == 3
        assert states[str(narrow.webhook_id)]["backlog"] == 0
        assert report["events"]["last_position"] > 0
        assert report["posts"]["exact"] is True and report["posts"]["count"] >= 4
        assert report["rebuilds"] == []
    finally:
        for hook in (every, narrow):
            await webhooks.remove(pool, site.site, hook.webhook_id)


async def test_a_backlog_past_the_cap_says_at_least(
    client: Client, pool: asyncpg.Pool, site: SiteKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await publish(client, site)
    hook = await webhooks.create(pool, site.site, "http://127.0.0.1:9/x", [], "", START, 20)
    assert hook is not None
    monkeypatch.setattr(status_module, "BACKLOG_CAP", 2)
    try:
        async with pool.acquire() as connection:
            states = await status_module.webhook_states(connection)
        shown = next(state for state in states if state["id"] == str(hook.webhook_id))
        assert (shown["backlog"], shown["backlog_at_least"]) == (2, True)
    finally:
        await webhooks.remove(pool, site.site, hook.webhook_id)
