"""`threadlog seal-legacy`: seal the personal data of the events written before sealing existed,
so that erasing their authors erases it too. Once, after upgrading: each legacy event is
rewritten in place into the form an append writes now (the trigger allows only that: see
migration 0008), its address digest sealed under its own day's key, or dropped when that day
is past retention; then the read models are rebuilt from the log."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from service.db import Connection, Pool
from service.domain.events import Event, NewComment
from service.eventstore import data_keys
from service.eventstore.codec import IP, PRIVATE, SEALED, compact, decode, encode, with_private
from service.ops.rebuild import rebuild

PERSONAL_TYPES = ("comment.posted", "comment.replied", "comment.edited", "comment.reported")
# Where legacy events kept private facts in their metadata (see codec.legacy_private).
LEGACY_METADATA = ("ip_hash", "author_key", "author_email_hash", "delete_token_sha256")
BATCH = 500

PAGE = """
SELECT position, stream_id, type, schema_version, data, metadata, recorded_at FROM events
WHERE position > $1 ORDER BY position LIMIT $2
"""

REWRITE = """
UPDATE events SET data = w.data::jsonb, metadata = w.metadata::jsonb
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS w(position, data, metadata)
WHERE events.position = w.position
"""

# Later edits of these comments find their key here (a rebuild follows anyway).
COMMENT_KEYS = """
UPDATE stream_comments SET data_key = w.data_key
FROM unnest($1::text[], $2::text[], $3::text[]) AS w(site, comment_id, data_key)
WHERE stream_comments.site = w.site AND stream_comments.comment_id = w.comment_id
  AND stream_comments.data_key IS NULL
"""


def is_legacy(row: Any, metadata: dict[str, Any]) -> bool:
    private = metadata.get(PRIVATE) or {}
    sealed = SEALED in private or IP in private or "sealed_at" in metadata
    return row["type"] in PERSONAL_TYPES and not sealed


def forgotten_ips(event: Event, day: date, oldest_kept: date) -> Event:
    """Past retention, an event's address digest is not sealed: it is dropped."""
    if day >= oldest_kept or not event.ip_fields:
        return event
    return event.model_copy(update=dict.fromkeys(event.ip_fields))


async def seal_batch(connection: Connection, rows: list[Any], oldest_kept: date) -> int:
    legacy = []
    for row in rows:
        metadata = json.loads(row["metadata"])
        if is_legacy(row, metadata):
            event, _ = decode(row["type"], row["schema_version"], json.loads(row["data"]), metadata)
            day = row["recorded_at"].astimezone(UTC).date()
            legacy.append((row, metadata, forgotten_ips(event, day, oldest_kept), day))
    sealed_at = datetime.now(UTC).isoformat()
    for day in sorted({day for *_, day in legacy}):
        group = [item for item in legacy if item[3] == day]
        keys = await data_keys.keys_for(connection, [event for _, _, event, _ in group], day)
        rewritten, comment_keys = [], []
        for (row, metadata, event, _), sealing in zip(group, keys, strict=True):
            coded = encode(event, sealing)
            kept = {name: value for name, value in metadata.items() if name not in LEGACY_METADATA}
            kept.pop(PRIVATE, None)
            new_metadata = with_private(kept, coded) | {"sealed_at": sealed_at}
            rewritten.append((row["position"], compact(coded.stored_data), compact(new_metadata)))
            if isinstance(event, NewComment) and sealing is not None and sealing.author:
                comment_keys.append((event.site, event.comment_id, sealing.author[0]))
        await connection.execute(REWRITE, *map(list, zip(*rewritten, strict=True)))
        if comment_keys:
            await connection.execute(COMMENT_KEYS, *map(list, zip(*comment_keys, strict=True)))
    return len(legacy)


async def seal_legacy(
    pool: Pool, retention_days: int, progress: Callable[[int], None] = lambda done: None
) -> int:
    """Seal every legacy event, a batch per transaction, then rebuild; how many were sealed."""
    oldest_kept = datetime.now(UTC).date() - timedelta(days=retention_days)
    after, sealed = 0, 0
    while True:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SET LOCAL threadlog.sealing_legacy = 'on'")
            rows = await connection.fetch(PAGE, after, BATCH)
            if not rows:
                break
            after = rows[-1]["position"]
            sealed += await seal_batch(connection, rows, oldest_kept)
        progress(len(rows))
    if sealed:
        async with pool.acquire() as connection:
            await rebuild(connection)
    return sealed
