"""Which failures mean "the database is unavailable" (503, retry later), and which are bugs."""

import asyncpg
import pytest

from service.db import unavailable

UNAVAILABLE = [
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(104, "Connection reset by peer"),
    OSError(113, "No route to host"),
    TimeoutError(),  # a pool exhausted past its timeout, a statement past the client's
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.ConnectionFailureError("could not receive data from client"),
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.IdleInTransactionSessionTimeoutError("terminating connection due to idle timeout"),
    asyncpg.DatabaseDroppedError("terminating connection due to the database being dropped"),
]
NOT_UNAVAILABLE = [
    asyncpg.UniqueViolationError("duplicate key value"),
    asyncpg.UndefinedTableError('relation "events" does not exist'),
    asyncpg.SyntaxOrAccessError("permission denied"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_a_lost_database_is_unavailable(error: Exception) -> None:
    assert unavailable(error)


@pytest.mark.parametrize("error", NOT_UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_a_bug_is_not(error: Exception) -> None:
    assert not unavailable(error)
