"""A transaction left open anywhere on the cluster holds the feed back; /readyz says how far
and by what, and the log says so past THREADLOG_FEED_STALL_WARN_SECONDS."""

import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.builders import comment, json_body
from tests.clusters import Cluster
from tests.outages import Private, private_app
from tests.waiting import wait_until


@pytest.fixture
async def private(private_cluster: Cluster) -> AsyncIterator[Private]:
    async for made in private_app(private_cluster, feed_stall_warn_seconds=0.3):
        yield made


async def test_a_transaction_left_open_is_named_in_readyz_and_in_the_log(
    private: Private, caplog: pytest.LogCaptureFixture
) -> None:
    ready = await json_body(await private.client.get("/readyz"), 200)
    assert ready["feed"] == {"held_back_seconds": 0.0, "oldest_transaction": None}

    # A report someone left open in another database of the same cluster.
    stuck = await asyncpg.connect(
        private.cluster.url("postgres"), server_settings={"application_name": "monthly-report"}
    )
    stuck_pid = stuck.get_server_pid()
    transaction = stuck.transaction()
    await transaction.start()
    await stuck.execute("SELECT pg_current_xact_id()")  # it holds a transaction id
    made = await comment(private.client, private.site, private.post_id)
    feed_path = "/v1/events"
    subscriber = private.site.auth("subscriber")

    caplog.set_level(logging.WARNING, "threadlog.feed")

    async def warned() -> bool:
        return any("held back" in record.getMessage() for record in caplog.records)

    await wait_until(warned, "a warning about the stalled feed")
    warning = next(r.getMessage() for r in caplog.records if "held back" in r.getMessage())
    assert f"pid {stuck_pid} (application_name 'monthly-report')" in warning
    assert "idle in transaction" in warning

    ready = await json_body(await private.client.get("/readyz"), 200)
    assert ready["status"] == "ready"
    assert ready["feed"]["held_back_seconds"] >= 0.3
    holder = ready["feed"]["oldest_transaction"]
    assert holder["pid"] == stuck_pid and holder["application_name"] == "monthly-report"
    assert holder["state"] == "idle in transaction" and holder["database"] == "postgres"
    assert holder["age_seconds"] >= 0.3 and holder["prepared"] is None
    events = (await json_body(await private.client.get(feed_path, headers=subscriber), 200))[
        "events"
    ]
    assert made["id"] not in str(events)  # held back, not lost

    await transaction.rollback()
    await stuck.close()
    ready = await json_body(await private.client.get("/readyz"), 200)
    assert ready["feed"] == {"held_back_seconds": 0.0, "oldest_transaction": None}
    events = (await json_body(await private.client.get(feed_path, headers=subscriber), 200))[
        "events"
    ]
    assert made["id"] in str(events)

    async def moving() -> bool:
        return any("moves again" in record.getMessage() for record in caplog.records)

    await wait_until(moving, "the feed to be said to move again")
