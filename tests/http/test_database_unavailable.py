"""Every way of losing the database answers 503 database-unavailable with Retry-After, for reads
and writes, logs one line per request (no traceback), and heals by itself once the database
answers again. Each test runs the real app on a private PostgreSQL cluster and breaks it."""

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientResponse

from service.keys import POOL
from tests.clusters import Cluster, program
from tests.http.test_routes_documented import operations
from tests.outages import Private, assert_unavailable, post_comment, private_app

RECOVERY_SECONDS = 2.0


@pytest.fixture
async def private(private_cluster: Cluster) -> AsyncIterator[Private]:
    async for made in private_app(private_cluster):
        yield made


async def every_kind_of_request(private: Private) -> list[ClientResponse]:
    """A public read, a key holder's read, a reader's write, a publisher's write and a
    moderator's site command."""
    client, site = private.client, private.site
    return [
        await client.get(f"/v1/sites/{site.site}/posts/{private.post_id}/comments"),
        await client.get("/v1/events", headers=site.auth("subscriber")),
        await post_comment(private),
        await client.put(
            f"/v1/sites/{site.site}/posts/{private.post_id}",
            json={"title": "Changed", "url": "https://blog.example/x", "labels": []},
            headers=site.auth("publisher"),
        ),
        await client.patch(
            f"/v1/sites/{site.site}/settings",
            json={"report_threshold": 4},
            headers=site.auth("moderator"),
        ),
    ]


async def recovers(private: Private) -> None:
    """Reads and writes work again within RECOVERY_SECONDS of the database answering."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY_SECONDS
    while True:
        ready = await private.client.get("/readyz")
        read = await private.client.get(
            f"/v1/sites/{private.site.site}/posts/{private.post_id}/comments"
        )
        if ready.status == read.status == 200:
            break
        assert loop.time() < deadline, f"not recovered: readyz {ready.status}, read {read.status}"
        await asyncio.sleep(0.05)
    for response in await every_kind_of_request(private):
        assert response.status in (200, 201), await response.text()


async def test_a_stopped_database_answers_503_to_reads_and_writes_and_logs_one_line(
    private: Private, caplog: pytest.LogCaptureFixture
) -> None:
    private.cluster.stop("fast")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        responses = await every_kind_of_request(private)
        for response in [*responses, await private.client.get("/readyz")]:
            await assert_unavailable(response)
    http_records = [record for record in caplog.records if record.name == "threadlog.http"]
    assert len(http_records) == 6
    assert all(record.levelno == logging.WARNING and not record.exc_info for record in http_records)
    assert all("database unavailable" in record.getMessage() for record in http_records)
    private.cluster.start()
    await recovers(private)


async def test_the_operations_documented_without_a_503_need_no_database(private: Private) -> None:
    """openapi.yaml documents a 503 for every operation that needs the database (see
    test_routes_documented.py); the others must answer with the database stopped."""
    database_free = [
        (method, path)
        for method, path, operation in operations().values()
        if "503" not in operation["responses"]
    ]
    assert database_free
    private.cluster.stop("fast")
    for method, path in database_free:
        response = await private.client.request(method.upper(), path)
        assert response.status < 500, (method, path, response.status)
    private.cluster.start()


async def test_connections_terminated_under_load_answer_503_and_leave_the_pool(
    private: Private,
) -> None:
    """An administrator (or a fast shutdown) ends every session of the service, over and over,
    while it writes and reads: no request fails with anything but 503."""
    admin = await private.admin()
    statuses: Counter[int] = Counter()
    stopping = asyncio.Event()

    async def write() -> None:
        while not stopping.is_set():
            response = await post_comment(private)
            statuses[response.status] += 1
            if response.status == 503:
                await assert_unavailable(response)

    async def read() -> None:
        path = f"/v1/sites/{private.site.site}/posts/{private.post_id}/comments"
        while not stopping.is_set():
            response = await private.client.get(path)
            statuses[response.status] += 1
            if response.status == 503:
                await assert_unavailable(response)

    clients = [asyncio.create_task(work()) for work in [write] * 6 + [read] * 3]
    try:
        for _ in range(25):
            await admin.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE application_name = 'threadlog'"""
            )
            await asyncio.sleep(0.04)
    finally:
        stopping.set()
        await asyncio.gather(*clients)
        await admin.close()
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[503] > 0 and statuses[201] > 0
    await recovers(private)


async def test_a_database_shutting_down_answers_503(private: Private) -> None:
    """A smart shutdown waits for open sessions and refuses new ones ("the database system is
    shutting down"); the service's own sessions were ended by an administrator."""
    admin = await private.admin()
    try:
        private.cluster.run(
            program("pg_ctl"), "-D", str(private.cluster.data), "-m", "smart", "-W", "stop"
        )
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'threadlog'"
        )
        for response in await every_kind_of_request(private):
            await assert_unavailable(response)
    finally:
        await admin.close()
    private.cluster.stop("fast")
    private.cluster.start()
    await recovers(private)


async def test_a_read_only_database_answers_503_to_writes_and_serves_reads(
    private: Private,
) -> None:
    """As a standby left read-only after a failover does."""
    admin = await private.admin()
    try:
        await admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        await admin.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(0.2)  # sessions read the new setting before their next statement
        responses = await every_kind_of_request(private)
        for response in responses[:2]:
            assert response.status == 200, await response.text()
        for response in responses[2:]:
            await assert_unavailable(response)
    finally:
        await admin.execute("SET default_transaction_read_only = off")
        await admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.close()
    await recovers(private)


async def test_an_exhausted_pool_answers_503_after_the_acquire_timeout(
    private_cluster: Cluster,
) -> None:
    async for private in private_app(private_cluster, pool_acquire_timeout_seconds=0.2):
        pool = private.client.server.app[POOL]
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            for response in await every_kind_of_request(private):
                await assert_unavailable(response)
        finally:
            for connection in held:
                await pool.release(connection)
        await recovers(private)


async def test_a_statement_timeout_answers_503(private_cluster: Cluster) -> None:
    """Statements stuck behind a lock run into the database's statement_timeout."""
    timeout = {"statement_timeout": "1s"}
    async for private in private_app(private_cluster, database_settings=timeout):
        admin = await private.admin()
        try:
            async with admin.transaction():
                await admin.execute("SET LOCAL statement_timeout = 0")
                await admin.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
                path = f"/v1/sites/{private.site.site}/posts/{private.post_id}/comments"
                await assert_unavailable(await private.client.get(path))
                await assert_unavailable(await post_comment(private))
        finally:
            await admin.close()
        await recovers(private)
