"""A service started before `threadlog migrate` is alive but not ready, and says why."""

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.ops.migrate import head_revision
from service.settings import Settings
from tests.conftest import with_database


@pytest.fixture
async def empty_database(admin_url: str) -> AsyncIterator[str]:
    name = f"threadlog_empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(admin_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_an_unmigrated_database_is_not_ready(empty_database: str) -> None:
    app = create_app(Settings(database_url=empty_database, pool_min_size=1, pool_max_size=2))
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert ready.headers["Content-Type"] == "application/problem+json"
        problem = await ready.json()
        assert f"the schema is at None, not at {head_revision()}" in problem["detail"]
