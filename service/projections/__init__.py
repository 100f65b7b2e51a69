"""The models kept in the append's transaction, and their replay.

Each module has a `NAME` (its checkpoint's), the `TABLES` it owns (made by migrations),
`apply(connection, events)`, idempotent per event, and `reset(connection)`, which empties its
tables (unqualified: during a rebuild they resolve to the fresh copies).
"""

from types import ModuleType

from service.db import Connection
from service.eventstore.store import RecordedEvent
from service.projections import groups, labels, moderation, posts, threads, write_model

INLINE: tuple[ModuleType, ...] = (write_model, posts, threads, labels, moderation, groups)


async def apply_all(connection: Connection, events: list[RecordedEvent]) -> None:
    # Models own separate tables, so each may take the whole batch in turn.
    for projection in INLINE:
        await projection.apply(connection, events)


def tables() -> list[str]:
    return [table for projection in INLINE for table in projection.TABLES]
