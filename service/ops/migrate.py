"""Schema migrations: alembic over hand-written SQL, callable from the CLI, the app and tests."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.util import await_only

from service.db import Connection

HERE = Path(__file__).resolve().parent


def migrations_folder() -> Path:
    # An editable install or a source checkout keeps migrations/ beside the package; the
    # Docker image runs from a folder that holds it.
    for candidate in (HERE.parents[1] / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the migrations/ folder was not found beside the package or in cwd")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.attributes["url"] = sqlalchemy_url(database_url)
    return config


def sqlalchemy_url(database_url: str) -> str:
    scheme, _, rest = database_url.partition("://")
    if scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {scheme}://")
    return "postgresql+asyncpg://" + rest


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to `revision`; must run outside an event loop (alembic drives its own)."""
    command.upgrade(alembic_config(database_url), revision)


@functools.cache
def head_revision() -> str:
    # Read from the migration scripts once: /readyz asks on every probe.
    script = ScriptDirectory(str(migrations_folder()))
    head = script.get_current_head()
    assert head is not None
    return head


async def current_revision(connection: Connection) -> str | None:
    exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
    if not exists:
        return None
    revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
    return revision


def run_script(sql: str) -> None:
    """Run a multi-statement SQL script from a migration.

    SQLAlchemy's asyncpg dialect prepares every statement, and PostgreSQL refuses to prepare
    several at once, so the script goes to asyncpg's simple-query path directly.
    """
    from alembic import op

    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))
