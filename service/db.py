"""The connection pool, the connection type every query function takes, and what counts as the
database being unavailable."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from service.settings import Settings

# A pooled connection or a direct one (the CLI and tests use both). Only the stubs are generic.
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy
    Pool = asyncpg.Pool


class DatabaseUnavailable(Exception):
    """The database could not be reached or kept: transient, answered 503 with Retry-After.

    For a write it also means the outcome is unknown: the connection may have died around
    COMMIT. A retry with the same Idempotency-Key answers the first outcome or writes once."""

    @classmethod
    def because(cls, cause: BaseException) -> "DatabaseUnavailable":
        text = " ".join(str(cause).split()) or "no detail"
        return cls(f"{type(cause).__name__}: {text}"[:300])


# Server errors that say the database cannot serve us now, rather than that a query is wrong.
SERVER_UNAVAILABLE = (
    # Class 08: the connection failed, was refused or does not exist (asyncpg raises
    # ConnectionDoesNotExistError for a connection lost mid-operation).
    asyncpg.PostgresConnectionError,
    # Class 57: terminated by an administrator or a fast shutdown, a crash, starting up or
    # shutting down, the database dropped, a statement timeout or a cancel by an operator.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.DatabaseDroppedError,
    asyncpg.IdleSessionTimeoutError,
    asyncpg.QueryCanceledError,
    # A standby that stayed read-only after a failover, or a read-only default.
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.IdleInTransactionSessionTimeoutError,
    # Class 53: out of connections, memory or disk.
    asyncpg.InsufficientResourcesError,
)


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach for now: a 503, never a 500.

    OSError covers a refused, reset or unreachable connection; TimeoutError (an OSError too)
    a pool that stayed exhausted or a statement past the client's timeout."""
    return isinstance(error, (*SERVER_UNAVAILABLE, OSError))


def lost_connection(error: BaseException) -> bool:
    """Whether a background worker's failure means it lost the database (the pool's, or a
    connection of its own: an InterfaceError is then "the connection is closed")."""
    return isinstance(error, DatabaseUnavailable | asyncpg.InterfaceError) or unavailable(error)


class Outage:
    """What a background worker says about losing the database: one line when it is lost and
    one when it is back, not a line (or a traceback) per retry."""

    def __init__(self, log: logging.Logger, worker: str) -> None:
        self.log = log
        self.worker = worker
        self.since: float | None = None

    def lost(self, error: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            cause = DatabaseUnavailable.because(error)
            self.log.warning("%s lost the database (%s); retrying", self.worker, cause)

    def resumed(self) -> None:
        if self.since is not None:
            seconds = time.monotonic() - self.since
            self.log.warning("%s has the database again, after %.1f s", self.worker, seconds)
            self.since = None


# After the database was away, a periodic worker tries again this soon rather than at its
# next turn.
RETRY_SECONDS = 1.0


async def every(seconds: float, work: Callable[[], Awaitable[None]], outage: Outage) -> None:
    """`work` every `seconds`, for ever: a lost database is said once and retried within
    RETRY_SECONDS; any other failure is logged, and the work tried again at its next turn."""
    while True:
        try:
            await work()
        except DatabaseUnavailable as error:
            outage.lost(error)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        except Exception:
            outage.log.exception("%s failed; trying again later", outage.worker)
        outage.resumed()
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def repeating(
    seconds: float, work: Callable[[], Awaitable[None]], outage: Outage
) -> AsyncIterator[None]:
    """`every(seconds, work, outage)` in the background while this runs; 0 seconds: never."""
    task = asyncio.create_task(every(seconds, work, outage)) if seconds > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class Acquisition(PoolAcquireContext):
    """`async with pool.acquire()`, as every query through the pool runs (`pool.fetch` too):
    a failure to get or keep the connection raises DatabaseUnavailable, and a connection left
    broken is terminated, so it leaves the pool instead of failing the next user."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        try:
            return await super().__aenter__()
        except Exception as error:
            # Refused, starting up, shutting down, no free connection in time, a failover
            # target that is not writable: whatever it is, nothing was sent.
            raise DatabaseUnavailable.because(error) from error

    async def __aexit__(self, *exc: object) -> None:
        exc_val = exc[1] if len(exc) > 1 and isinstance(exc[1], BaseException) else None
        connection = self.connection
        lost = connection is not None and exc_val is not None and closed(connection)
        broken = isinstance(exc_val, asyncpg.InternalClientError)
        if connection is not None and broken and not lost:
            # The protocol is mid-operation (typically it read the server's FATAL message and
            # not yet the end of the connection): nothing more can be sent on it.
            connection.terminate()
        await super().__aexit__(*exc)
        if exc_val is None or isinstance(exc_val, DatabaseUnavailable):
            return
        # An InterfaceError on a closed connection ("cannot call Transaction.__aexit__()")
        # hides why it closed: either way the database went away mid-operation.
        if unavailable(exc_val) or broken or (lost and isinstance(exc_val, asyncpg.InterfaceError)):
            raise DatabaseUnavailable.because(exc_val) from exc_val


def closed(connection: Any) -> bool:
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:
        return True  # a connection that closed went back to the pool at once, detached


class ServicePool(asyncpg.Pool):
    """asyncpg's pool, whose acquisitions wait at most `acquire_timeout` seconds."""

    __slots__ = ("acquire_timeout",)

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Acquisition:
        return Acquisition(self, self.acquire_timeout if timeout is None else timeout)


class OneLine(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reopen a connection, which during
    an outage is every few seconds: one line says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {DatabaseUnavailable.because(record.exc_info[1])}"
            record.args = ()
            record.exc_info = None
        return True


POOL_LOG = logging.getLogger("asyncpg.pool")


async def create_pool(settings: Settings, database_url: str) -> Pool:
    if not any(isinstance(known, OneLine) for known in POOL_LOG.filters):
        POOL_LOG.addFilter(OneLine())
    pool = ServicePool(
        database_url,
        acquire_timeout=settings.pool_acquire_timeout_seconds,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=asyncio.get_running_loop(),
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        # A new connection is owed within the acquire timeout; one that hangs is no better.
        timeout=settings.pool_acquire_timeout_seconds,
        # Reads and writes are short; a stuck statement should fail, not hold a connection.
        command_timeout=30,
        # An open transaction anywhere holds back the feed (see store.read_all): ours never idle.
        server_settings={
            "application_name": "threadlog",
            "idle_in_transaction_session_timeout": "60000",
        },
        reset=keep_session,
    )
    await pool
    return pool


async def keep_session(connection: Any) -> None:
    """Nothing to undo when a connection goes back to the pool: pooled connections never SET,
    LISTEN or take session advisory locks (those have connections of their own), and asyncpg
    rolls back an open transaction before calling this. asyncpg's default reset would cost a
    round trip per release."""
