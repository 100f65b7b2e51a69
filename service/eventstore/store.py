"""The append-only event log in PostgreSQL.

Global order is (epoch, transaction id, position). Transaction ids belong to a PostgreSQL
cluster; an epoch is one cluster the log was written on (`cluster_epochs`): a log copied to
another cluster (a restore, a move, an upgrade) goes on in a new epoch there, after everything
it brought along. Readers of the log take only rows of earlier epochs, which no transaction
can add to any more, and rows of the current epoch whose writing transaction is older than
every transaction still running (`pg_snapshot_xmin`), so a row that commits late can never
appear behind a reader's cursor.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from service.db import Connection, Pool
from service.domain.events import Event
from service.eventstore import data_keys
from service.eventstore.codec import JsonObject, decode, key_ids
from service.eventstore.cursors import LAST_POSITION, Cursor

# Readers are in the latest epoch: every earlier one is closed, all its rows committed. Writers
# ask `cluster_epoch()` (migration 0005), which also refuses while the latest epoch is another
# cluster's. So on a cluster the log was copied to and not yet adopted nothing is written, and
# readers hold the copied epoch to this cluster's xmin: they may show only a prefix of it,
# never anything out of order.
READ_EPOCH = "(SELECT max(epoch) FROM cluster_epochs)"


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    epoch: int
    transaction_id: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    type: str
    data: JsonObject
    metadata: JsonObject
    recorded_at: datetime
    event: Event

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.epoch, self.transaction_id, self.position)


# Orders name the table's columns: a bare `transaction_id` would be the bigint output column,
# which no index holds (every read would sort all the rows after its cursor).
SELECT_EVENTS = """
SELECT position, epoch, transaction_id::text::bigint AS transaction_id, stream_id, version,
       event_id, type, schema_version, data, metadata, recorded_at
FROM events
"""


def visible_after(epoch: str, transaction_id: str, position: str) -> str:
    """The rows after a cursor (these parameters) that a reader of the log may take now."""
    after = f"({epoch}, {transaction_id}::text::xid8, {position})"
    return f"""(epoch, transaction_id, position) > {after}
  AND (epoch, transaction_id) < ({READ_EPOCH}, pg_snapshot_xmin(pg_current_snapshot()))"""


READ_ALL = (
    SELECT_EVENTS
    + f"""
WHERE {visible_after("$6", "$1", "$2")}
  AND ($3::text IS NULL OR site = $3)
  AND ($5::text[] IS NULL OR type = ANY($5::text[]))
ORDER BY events.epoch, events.transaction_id, events.position
LIMIT $4
"""
)

# Only for a caller holding an EXCLUSIVE lock on events: no writer is running, every row is final.
READ_ALL_LOCKED = (
    SELECT_EVENTS
    + """
WHERE (epoch, transaction_id, position) > ($3, $1::text::xid8, $2)
ORDER BY events.epoch, events.transaction_id, events.position
"""
)


async def read_all(
    connection: Connection | Pool,
    after: Cursor,
    limit: int,
    site: str | None = None,
    types: list[str] | None = None,
) -> list[RecordedEvent]:
    """Events after `after` in commit order; never skips a late commit, never repeats."""
    return decoded(await fetch_all(connection, after, limit, site, types))


@dataclass(frozen=True, slots=True)
class Fetched:
    """Rows of the log, their JSON parsed and the keys of their sealed fields opened: all that
    decoding them needs from the database. A reader may fetch the next rows while it decodes
    these (decoding is the client's work alone)."""

    rows: list[tuple[Any, JsonObject, JsonObject]]
    keys: Mapping[str, bytes]

    @property
    def cursor(self) -> Cursor | None:
        """The last row's place; None when there are no rows."""
        if not self.rows:
            return None
        row = self.rows[-1][0]
        return Cursor(row["epoch"], row["transaction_id"], row["position"])


async def fetch_all(
    connection: Connection | Pool,
    after: Cursor,
    limit: int,
    site: str | None = None,
    types: list[str] | None = None,
) -> Fetched:
    """What `read_all` reads, not yet decoded."""
    transaction_id, position = str(after.transaction_id), after.position
    rows = await connection.fetch(
        READ_ALL, transaction_id, position, site, limit, types, after.epoch
    )
    return await fetched(connection, rows)


@dataclass(frozen=True, slots=True)
class Place:
    """Where an event belongs, and where it is in the log: what a reader that only needs to
    know what changed (the live streams' shared tail) reads instead of the whole event.
    `settled`: every reader of the log may take it now (see `read_all`); an unsettled one has
    committed, but an older transaction still runs."""

    cursor: Cursor
    site: str
    stream_id: str
    settled: bool


READ_PLACES = f"""
SELECT epoch, transaction_id::text::bigint AS transaction_id, position, site, stream_id,
       (epoch, transaction_id) < ({READ_EPOCH}, pg_snapshot_xmin(pg_current_snapshot()))
           AS settled
FROM events
WHERE (epoch, transaction_id, position) > ($3, $1::text::xid8, $2)
ORDER BY events.epoch, events.transaction_id, events.position
LIMIT $4
"""


async def read_places(connection: Connection | Pool, after: Cursor, limit: int) -> list[Place]:
    """Where the committed events after `after` belong, in log order: the settled ones first
    (the rows `read_all` would return), then those committed behind an older transaction."""
    rows = await connection.fetch(
        READ_PLACES, str(after.transaction_id), after.position, after.epoch, limit
    )
    return [
        Place(
            Cursor(row["epoch"], row["transaction_id"], row["position"]),
            row["site"],
            row["stream_id"],
            row["settled"],
        )
        for row in rows
    ]


async def head(connection: Connection | Pool) -> Cursor:
    """A cursor past every event committed so far; what reads from it includes the events of
    transactions still running, however early their writes. Refused (by `cluster_epoch()`) on
    a cluster the log was copied to and not yet adopted, whose epoch is still to come."""
    row = await connection.fetchrow(
        """SELECT cluster_epoch() AS epoch,
                  pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS oldest_running"""
    )
    assert row is not None
    return Cursor(row["epoch"], row["oldest_running"] - 1, LAST_POSITION)


async def read_rest_locked(connection: Connection, after: Cursor) -> list[RecordedEvent]:
    rows = await connection.fetch(
        READ_ALL_LOCKED, str(after.transaction_id), after.position, after.epoch
    )
    return await recorded_from_rows(connection, rows)


async def read_stream(connection: Connection, stream_id: str) -> list[RecordedEvent]:
    rows = await connection.fetch(
        SELECT_EVENTS + "WHERE stream_id = $1 ORDER BY version",
        stream_id,
    )
    return await recorded_from_rows(connection, rows)


async def recorded_from_rows(connection: Connection | Pool, rows: list[Any]) -> list[RecordedEvent]:
    """Events as read, their sealed fields opened with the keys that still exist."""
    return decoded(await fetched(connection, rows))


async def fetched(connection: Connection | Pool, rows: list[Any]) -> Fetched:
    loaded = [(row, orjson.loads(row["data"]), orjson.loads(row["metadata"])) for row in rows]
    wanted = {key_id for _, _, metadata in loaded for key_id in key_ids(metadata)}
    keys = await data_keys.open_keys(connection, wanted) if wanted else {}
    return Fetched(loaded, keys)


def decoded(fetched: Fetched) -> list[RecordedEvent]:
    keys = fetched.keys
    return [recorded_from_row(row, data, metadata, keys) for row, data, metadata in fetched.rows]


def recorded_from_row(
    row: Any, data: JsonObject, metadata: JsonObject, keys: Mapping[str, bytes]
) -> RecordedEvent:
    event, public = decode(row["type"], row["schema_version"], data, metadata, keys)
    # By position: keywords cost a frozen dataclass twice as much, 2 µs of a replay's event.
    return RecordedEvent(
        row["position"],
        row["epoch"],
        row["transaction_id"],
        row["stream_id"],
        row["version"],
        row["event_id"],
        row["type"],
        public,
        metadata,
        row["recorded_at"],
        event,
    )


async def read_events(connection: Connection, event_ids: list[uuid.UUID]) -> list[RecordedEvent]:
    """The events with these ids, in log order."""
    rows = await connection.fetch(
        SELECT_EVENTS + "WHERE event_id = ANY($1::uuid[]) ORDER BY position", event_ids
    )
    return await recorded_from_rows(connection, rows)


READ_STREAM_AFTER = (
    SELECT_EVENTS
    + """
WHERE stream_id = $1 AND version > $2 AND type = ANY($3::text[])
ORDER BY version
LIMIT $4
"""
)


async def read_stream_after(
    connection: Connection | Pool, stream_id: str, after_version: int, types: list[str], limit: int
) -> list[RecordedEvent]:
    """One stream's events of `types` after `after_version`, in version order.

    Appends hold their stream's lock until they commit, so one stream's versions commit in
    order: a version is a cursor that never skips a late commit.
    """
    rows = await connection.fetch(READ_STREAM_AFTER, stream_id, after_version, types, limit)
    return await recorded_from_rows(connection, rows)


async def stream_version(connection: Connection | Pool, stream_id: str) -> int:
    """The stream's last version; 0 while it has no events."""
    version: int = await connection.fetchval(
        "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
    )
    return version
