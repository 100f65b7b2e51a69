"""One fresh, migrated database per test run, on the PostgreSQL at 127.0.0.1:5432 when it
answers (or TEST_DATABASE_URL), else on an embedded server. Tests isolate by fresh ids."""

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.eventstore import data_keys
from service.eventstore.vault import Vault, new_kek_text, parse_kek
from service.ops import migrate
from service.settings import Settings
from tests.builders import Client, SiteKeys, make_site, serving
from tests.clusters import Cluster, new_cluster

ROOT = Path(__file__).resolve().parent.parent
# One KEK for the whole run, in the environment so that `threadlog` subprocesses share it.
os.environ.setdefault("THREADLOG_KEK", new_kek_text())
data_keys.install(Vault(parse_kek(os.environ["THREADLOG_KEK"])))
# The nats-server and JetStream streams of the relay's tests.
pytest_plugins = ["tests.jetstream"]


def server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return configured
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return "postgresql://postgres@127.0.0.1:5432/postgres"
    except OSError:
        from service.ops.embedded import start_embedded

        folder = Path(tempfile.mkdtemp(prefix="threadlog-test-pg-", dir=ROOT / ".threadlog"))
        return start_embedded(folder)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def run_in_thread(function: object, *args: object) -> None:
    # Alembic runs its own event loop; keep it off the test loop's thread.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function(*args)  # type: ignore[operator]
        except BaseException as error:  # pragma: no cover - re-raised below
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def admin_url() -> str:
    (ROOT / ".threadlog").mkdir(exist_ok=True)
    return server_url()


async def run_admin(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def migrated_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new database named `prefix_<random>`, migrated, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(run_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = with_database(admin_url, name)
        run_in_thread(migrate.upgrade, url)
        yield url
    finally:
        asyncio.run(run_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    with migrated_database(admin_url, "threadlog_test") as url:
        yield url


@pytest.fixture
async def own_database(admin_url: str) -> AsyncIterator[str]:
    """A migrated database of this test's own (its KEK may not be the suite's; an import
    may start from empty), dropped after it."""
    name = f"threadlog_kek_{secrets.token_hex(4)}"
    await run_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = with_database(admin_url, name)
        run_in_thread(migrate.upgrade, url)
        yield url
    finally:
        await run_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(database_url, min_size=2, max_size=20)
    assert created is not None
    yield created
    await created.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Webhook tests run their own dispatchers, so that one test's never delivers another's.
    # Tests post many comments from one address; rate-limit tests set a site's own limit.
    return Settings(
        database_url=database_url,
        pool_max_size=20,
        webhooks_dispatch=False,
        webhooks_allow_private=True,
        default_rate_limit_per_minute=0,
    )


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with serving(settings) as test_client:
        yield test_client


@pytest.fixture
async def site(pool: asyncpg.Pool) -> SiteKeys:
    return await make_site(pool)


@pytest.fixture
async def other_site(pool: asyncpg.Pool) -> SiteKeys:
    return await make_site(pool)


@pytest.fixture
async def empty_database(admin_url: str) -> AsyncIterator[str]:
    """A database of its own with nothing in it: not migrated."""
    name = f"threadlog_empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(admin_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def private_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the test's own, to restart, crash or restore at will."""
    cluster = new_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def second_cluster() -> Iterator[Cluster]:
    """Another cluster of the test's own: a new server for a database to move to."""
    cluster = new_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()
