"""The read models updated in the append's transaction, and their replay."""

from types import ModuleType

from service.db import Connection
from service.eventstore.store import RecordedEvent
from service.projections import labels, posts, threads
from service.projections.statements import run

INLINE: tuple[ModuleType, ...] = (posts, threads, labels)


async def apply_all(connection: Connection, events: list[RecordedEvent]) -> None:
    # Read models own separate tables, so each may take the whole batch in turn.
    for projection in INLINE:
        await run(
            connection,
            (statement for recorded in events for statement in projection.statements(recorded)),
        )


def tables() -> list[str]:
    return [table for projection in INLINE for table in projection.TABLES]
