"""threadlog's own export: every event, one JSON object a line, and its import elsewhere.

A line is the event as the feed shows it (CloudEvents: `id`, `type`, `time`, `data` with the
personal fields opened) plus what appending it again needs, under `threadlog`: its stream,
version, schema version, metadata, and its private fields (digests that the write side
decides with). The export opens sealed fields with this deployment's keys; the import seals
them again with the target's. An erased author's events are exported erased (empty, with
`"erased": true`) and imported so: sealed under a key that is destroyed at once.

Imported into an empty deployment, events keep their ids, streams, versions and times, so
every read is the same. Running the import again skips the events it finds (by id). An
event whose stream in the target is not at the version before it is refused: the target
already has another history there.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from service.access import credentials
from service.db import Connection, Pool
from service.domain.events import EVENT_TYPES, Event
from service.eventstore import appends, data_keys, store
from service.eventstore.appends import NewEvent
from service.eventstore.cloudevents import cloud_event
from service.eventstore.codec import PRIVATE, SEALED, compact
from service.eventstore.cursors import START, Cursor
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import lock_key
from service.ops.imports.core import chunks
from service.ops.imports.records import BadSource
from service.projections import apply_all
from service.settings import Settings

PAGE = 1000
# THREADLOG_EXPORT_SETTLE_SECONDS, unless the caller says.
SETTLE: float = Settings.model_fields["export_settle_seconds"].default

LOCK_STREAMS = "SELECT pg_advisory_xact_lock(key) FROM unnest($1::bigint[]) AS key"
VERSIONS = """
SELECT stream_id, max(version) AS version FROM events
WHERE stream_id = ANY($1::text[]) GROUP BY stream_id
"""


def line_of(recorded: RecordedEvent) -> str:
    event = recorded.event
    dumped = event.model_dump(mode="json")
    private = {name: dumped[name] for name in event.private_fields if dumped.get(name) is not None}
    metadata = {name: value for name, value in recorded.metadata.items() if name != PRIVATE}
    extra = {
        "stream_id": recorded.stream_id,
        "version": recorded.version,
        "schema_version": event.schema_version,
        "metadata": metadata,
        "private": private,
    }
    return compact(cloud_event(recorded) | {"threadlog": extra})


# Every transaction that wrote an event so far has ended: the feed may take all of them.
SETTLED = f"""
SELECT coalesce(pg_snapshot_xmin(pg_current_snapshot()) > (
    SELECT max(transaction_id) FROM events WHERE epoch = {store.READ_EPOCH}), true)
"""


async def settle(pool: Pool, seconds: float) -> None:
    """Wait (at most `seconds`) until the log's readers may take every event committed now:
    the export reads as the feed does, which holds back what commits behind an older
    transaction still running (another writer's batch, anywhere on the cluster)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await pool.fetchval(SETTLED):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.05)


async def export_lines(
    pool: Pool, site: str | None = None, after: Cursor = START, wait: float = SETTLE
) -> AsyncIterator[str]:
    """Every event (of `site`) after `after`, in log order, as lines without their newline;
    after waiting up to `wait` seconds for the events committed before it started."""
    await settle(pool, wait)
    while True:
        async with pool.acquire() as connection:
            page = await store.read_all(connection, after, PAGE, site)
        for recorded in page:
            yield line_of(recorded)
        if len(page) < PAGE:
            return
        after = page[-1].cursor


@dataclass(frozen=True, slots=True)
class Line:
    event_id: str
    stream_id: str
    version: int
    time: datetime
    event: Event
    erased: bool
    metadata: dict[str, Any]


def parse_line(text: str, number: int) -> Line:
    try:
        found = json.loads(text)
        extra = found["threadlog"]
        cls = EVENT_TYPES[found["type"]]
        data = dict(found["data"])
        erased = bool(data.pop("erased", False))
        if extra["schema_version"] != cls.schema_version:
            raise ValueError(f"schema version {extra['schema_version']} of {found['type']}")
        values = data | extra["private"] | (cls.erased_values() if erased else {})
        event = cls.model_validate(values | ({"erased": True} if erased else {}))
        return Line(
            event_id=found["id"],
            stream_id=extra["stream_id"],
            version=int(extra["version"]),
            time=datetime.fromisoformat(found["time"].replace("Z", "+00:00")),
            event=event,
            erased=erased,
            metadata=dict(extra["metadata"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise BadSource(f"line {number} is not an event of threadlog's export: {error}") from None


def read_lines(path: Path) -> Iterator[Line]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                yield parse_line(text, number)


@dataclass(slots=True)
class Appended:
    events: int = 0
    unchanged: int = 0
    sites: list[str] = field(default_factory=list)


async def import_lines(
    pool: Pool, lines: Iterable[Line], site: str | None, progress: IO[str] | None = None
) -> Appended:
    """Append the lines' events (of `site`, when given) in batches of one transaction."""
    appended = Appended()
    now = datetime.now(UTC).isoformat()
    wanted = (line for line in lines if site is None or line.event.site == site)
    for batch in chunks(wanted, PAGE):
        async with pool.acquire() as connection, connection.transaction():
            await append_batch(connection, batch, appended, now)
        if progress is not None:
            progress.write(f"\r{appended.events + appended.unchanged} events")
    return appended


async def append_batch(
    connection: Connection, batch: list[Line], appended: Appended, now: str
) -> None:
    found = await connection.fetch(
        "SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[])",
        [line.event_id for line in batch],
    )
    there = {row["event_id"] for row in found}
    new = [line for line in batch if line.event_id not in there]
    appended.unchanged += len(batch) - len(new)
    if not new:
        return
    for site in sorted({line.event.site for line in new}):
        if not await credentials.site_exists(connection, site):
            # Sites are not events: a new deployment gets each one bare (no origins, a new
            # salt), and the operator sets its origins and keys (`threadlog sites`).
            await credentials.create_site(connection, site, site)
            appended.sites.append(site)
    streams = sorted({line.stream_id for line in new})
    await connection.execute(LOCK_STREAMS, sorted({lock_key(s) for s in streams}))
    versions = {
        row["stream_id"]: row["version"] for row in await connection.fetch(VERSIONS, streams)
    }
    for line in new:
        expected = versions.get(line.stream_id, 0) + 1
        if line.version != expected:
            raise BadSource(
                f"event {line.event_id} is version {line.version} of {line.stream_id}, whose "
                f"next version here is {expected}: this deployment has another history there"
            )
        versions[line.stream_id] = line.version
    events = [
        NewEvent(
            line.stream_id,
            line.version,
            line.event.site,
            line.event,
            {"source": "import/ndjson"} | line.metadata | {"imported_at": now},
            uuid.UUID(line.event_id),
            line.time,
        )
        for line in new
    ]
    recorded = await appends.append(connection, events, {})
    erased = [r for r, line in zip(recorded, new, strict=True) if line.erased]
    keys = [box["key"] for r in erased if (box := r.metadata.get(PRIVATE, {}).get(SEALED))]
    if keys:
        # Sealed as the export had it: under a key that no longer exists.
        await data_keys.destroy(connection, keys, datetime.now(UTC))
    await apply_all(connection, recorded)
    appended.events += len(recorded)
