"""What an operator can get wrong, said in one line: what is wrong, and what to do about it.

The CLI prints that line and exits non-zero instead of a traceback. Errors come wrapped (alembic
and SQLAlchemy wrap asyncpg's, asyncpg wraps the socket's), so the whole chain is searched.
"""

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.db import DatabaseUnavailable


def explain(error: BaseException, database_url: str | None, listen: str) -> str | None:
    """One line for `error`, or None when it is not an operator's mistake (then: a bug)."""
    # Here, not at the top: every command imports this module, and only a failing one needs
    # alembic's and the server's modules.
    from service.ops.migrate import SchemaNotAtHead
    from service.server import PortInUse

    where = f"the database at {redacted(database_url)}" if database_url else "the database"
    causes = list(chain(error))
    # The most telling cause first: "database x does not exist" rather than "cannot connect".
    for cause in causes:
        match cause:
            case PortInUse():
                return (
                    f"cannot listen on {listen}: the port is in use; stop what listens there, "
                    "or choose another port with --port (or THREADLOG_PORT)"
                )
            case SchemaNotAtHead():
                return f"{where}: {cause}"
            case asyncpg.UndefinedTableError():
                return f"{where} is not migrated ({cause}); run `threadlog migrate` first"
            case asyncpg.InvalidCatalogNameError():
                return (
                    f"{where}: {cause}; create it (e.g. `createdb`), then run `threadlog migrate`"
                )
            case asyncpg.InvalidPasswordError():
                return f"{where}: {cause}; check the password in DATABASE_URL"
            case asyncpg.InvalidAuthorizationSpecificationError():
                return (
                    f"{where}: {cause}; check the user in DATABASE_URL, or create the role "
                    "(e.g. `createuser`) and allow it in pg_hba.conf"
                )
            case asyncpg.CannotConnectNowError():
                return f"{where}: {cause}; try again once PostgreSQL has started"
            case asyncpg.ClientConfigurationError():
                return f"DATABASE_URL is not a PostgreSQL URL ({cause}); use postgresql://..."
            case socket.gaierror():
                return (
                    f"cannot connect to {where}: its host is unknown ({cause}); check DATABASE_URL"
                )
    for cause in causes:
        match cause:
            case OSError() | DatabaseUnavailable():
                return (
                    f"cannot connect to {where}: {DatabaseUnavailable.because(cause)}; "
                    "is PostgreSQL running there? check DATABASE_URL"
                )
    return None


def chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        # SQLAlchemy keeps the driver's exception as `orig`.
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def redacted(url: str) -> str:
    """The URL without its password."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return "(an unparsable URL)"
