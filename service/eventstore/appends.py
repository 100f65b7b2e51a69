"""Appending to the log: the write side's one way in."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.db import Connection
from service.domain.events import Event
from service.eventstore import data_keys
from service.eventstore.codec import JsonObject, compact, encode, with_private
from service.eventstore.store import RecordedEvent


class StaleTransactionOrder(Exception):
    """This transaction comes before the stream's last writer in the log: retry with a new one.

    The feed orders by (epoch, transaction id), so such an append would appear before the
    event it follows. Appends lock their posts before their first write takes an id, which
    rules this out; a lock that takes the id first (a row lock) would not, so the check stays.
    """


@dataclass(frozen=True, slots=True)
class NewEvent:
    stream_id: str
    version: int
    site: str
    event: Event
    metadata: JsonObject
    # Given by an import, so that running it again finds its events; else a fresh one.
    event_id: uuid.UUID | None = None
    # Given only by an import of another deployment's log, which keeps its events' times.
    recorded_at: datetime | None = None


# The epoch is asked for once per statement (the column's default would ask once per row).
# The keys made for this append's comments go in with them (data_keys.KeyPlan).
APPEND = """
WITH made_keys AS (
    INSERT INTO data_keys (key_id, site, kek_id, wrapped)
    SELECT * FROM unnest($10::text[], $11::text[], $12::text[], $13::bytea[])
)
INSERT INTO events (epoch, stream_id, version, event_id, site, type, schema_version, data,
                    metadata, recorded_at)
SELECT (SELECT cluster_epoch()), w.stream_id, w.version, w.event_id, w.site, w.type,
       w.schema_version, w.data, w.metadata, coalesce(w.recorded_at, now())
FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::smallint[],
            $7::jsonb[], $8::jsonb[], $9::timestamptz[])
     AS w(stream_id, version, event_id, site, type, schema_version, data, metadata, recorded_at)
RETURNING event_id, position, epoch, transaction_id::text::bigint AS transaction_id, recorded_at
"""


async def append(
    connection: Connection,
    events: list[NewEvent],
    last_writers: Mapping[str, tuple[int, int]],
    day_key: tuple[str, str, bytes] | None = None,
) -> list[RecordedEvent]:
    """Append events, in order, to streams whose rows the caller has locked.

    A concurrent appender that got past a lock anyway violates UNIQUE (stream_id, version).
    `last_writers` holds each stream's last writer's (epoch, transaction id); `day_key` is
    today's data key as the caller read it, if it did (data_keys.plan_keys).
    """
    plan = await data_keys.plan_keys(connection, [new.event for new in events], day_key=day_key)
    encoded = [encode(new.event, keys) for new, keys in zip(events, plan.sealing, strict=True)]
    metadata = [
        with_private(new.metadata, coded) for new, coded in zip(events, encoded, strict=True)
    ]
    event_ids = [new.event_id or uuid.uuid4() for new in events]
    fresh_keys = [list(column) for column in zip(*plan.fresh, strict=True)] or [[], [], [], []]
    rows = await connection.fetch(
        APPEND,
        [new.stream_id for new in events],
        [new.version for new in events],
        event_ids,
        [new.site for new in events],
        [coded.type for coded in encoded],
        [coded.schema_version for coded in encoded],
        [compact(coded.stored_data) for coded in encoded],
        [compact(meta) for meta in metadata],
        [new.recorded_at for new in events],
        *fresh_keys,
    )
    stored = {row["event_id"]: row for row in rows}
    epoch, transaction_id = rows[0]["epoch"], rows[0]["transaction_id"]
    for new in events:
        if (epoch, transaction_id) < last_writers.get(new.stream_id, (0, 0)):
            raise StaleTransactionOrder(new.stream_id)
    return [
        RecordedEvent(
            position=stored[event_id]["position"],
            epoch=epoch,
            transaction_id=transaction_id,
            stream_id=new.stream_id,
            version=new.version,
            event_id=event_id,
            type=coded.type,
            data=coded.data,
            metadata=meta,
            recorded_at=stored[event_id]["recorded_at"],
            event=new.event,
        )
        for new, event_id, coded, meta in zip(events, event_ids, encoded, metadata, strict=True)
    ]
