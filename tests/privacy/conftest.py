"""Fixtures of the privacy tests."""

import secrets

import asyncpg
import pytest

from service.ops import migrate
from tests.conftest import run_in_thread, with_database


@pytest.fixture
async def own_database(admin_url: str) -> str:
    """A migrated database of this test's own: its KEK is not the suite's."""
    name = f"threadlog_kek_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(admin_url, name)
    run_in_thread(migrate.upgrade, url)
    return url
