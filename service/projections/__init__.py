"""The read models updated in the append's transaction, and their replay."""

from types import ModuleType

from service.db import Connection
from service.eventstore.store import RecordedEvent
from service.projections import labels, moderation, posts, threads

INLINE: tuple[ModuleType, ...] = (posts, threads, labels, moderation)


async def apply_all(connection: Connection, events: list[RecordedEvent]) -> None:
    # Read models own separate tables, so each may take the whole batch in turn.
    for projection in INLINE:
        await projection.apply_batch(connection, events)


def tables() -> list[str]:
    return [table for projection in INLINE for table in projection.TABLES]
