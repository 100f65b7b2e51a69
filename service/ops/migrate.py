"""Schema migrations: alembic over hand-written SQL, callable from the CLI, the app and tests."""

import functools
import sysconfig
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.util import await_only

from service.db import Connection

# A checkout (or an editable install) has migrations/ beside the package; a plain install puts
# them under <prefix>/share/threadlog (pyproject's data-files): either way, from any folder.
CANDIDATES = (
    Path(__file__).resolve().parents[2] / "migrations",
    Path(sysconfig.get_path("data")) / "share" / "threadlog" / "migrations",
)


def migrations_folder() -> Path:
    for folder in CANDIDATES:
        if (folder / "env.py").exists():
            return folder
    raise FileNotFoundError(f"threadlog's migrations are in none of {CANDIDATES}: reinstall it")


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


class SchemaNotAtHead(Exception):
    """The database's schema is not the one this version of threadlog needs."""

    def __init__(self, revision: str | None, head: str) -> None:
        self.revision, self.head = revision, head
        script = ScriptDirectory(str(migrations_folder()))
        known = revision is not None and revision in {r.revision for r in script.walk_revisions()}
        if revision is None:
            text = (
                f"it is not migrated (this threadlog needs schema {head}); run `threadlog migrate`"
            )
        elif known:
            text = (
                f"its schema is at {revision}, this threadlog needs {head}; run `threadlog migrate`"
            )
        else:
            text = (
                f"its schema is at {revision}, newer than this threadlog knows ({head}); "
                "upgrade threadlog"
            )
        super().__init__(text)


async def require_head(connection: Connection) -> None:
    """Raise SchemaNotAtHead unless the schema is at this version's head: `serve` refuses to
    start rather than answer 500s from tables that do not exist yet."""
    revision, head = await current_revision(connection), head_revision()
    if revision != head:
        raise SchemaNotAtHead(revision, head)


def run_script(sql: str) -> None:
    """Run a multi-statement SQL script from a migration.

    SQLAlchemy's asyncpg dialect prepares every statement, and PostgreSQL refuses to prepare
    several at once, so the script goes to asyncpg's simple-query path directly.
    """
    from alembic import op

    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))
