"""Read models `groups` (each group's stream: version, last writer, whether it is deleted) and
`group_sites` (its member sites). The write side decides from them too, as it does from
`site_streams` for a site.

Every statement guards on the group's stream version: an event applied again changes nothing,
and a member change applies only when the group's row moved to that event.
"""

from service.db import Connection
from service.domain.events import (
    GroupCreated,
    GroupDeleted,
    GroupEvent,
    GroupSiteAdded,
    GroupSiteRemoved,
)
from service.eventstore.store import RecordedEvent
from service.projections.statements import Statement, run

NAME = "groups"
TABLES = ("groups", "group_sites")

# A deleted group has no members left, so creating it again only adds.
CREATE = """
WITH newer AS (
    INSERT INTO groups (group_name, version, last_epoch, last_transaction_id, created_at)
    VALUES ($1, $2, $3, $4::text::xid8, $5)
    ON CONFLICT (group_name) DO UPDATE SET
        version = excluded.version, last_epoch = excluded.last_epoch,
        last_transaction_id = excluded.last_transaction_id, created_at = excluded.created_at,
        deleted = false
    WHERE groups.version < excluded.version
    RETURNING group_name
)
INSERT INTO group_sites (group_name, site, added_at)
SELECT $1, member, $5 FROM unnest($6::text[]) AS member WHERE EXISTS (SELECT 1 FROM newer)
ON CONFLICT DO NOTHING
"""

MOVED = """
UPDATE groups SET version = $2, last_epoch = $3, last_transaction_id = $4::text::xid8
WHERE group_name = $1 AND version < $2
RETURNING group_name
"""

ADD = f"""
WITH newer AS ({MOVED})
INSERT INTO group_sites (group_name, site, added_at)
SELECT $1, $5, $6 WHERE EXISTS (SELECT 1 FROM newer)
ON CONFLICT DO NOTHING
"""

REMOVE = f"""
WITH newer AS ({MOVED})
DELETE FROM group_sites WHERE group_name = $1 AND site = $5 AND EXISTS (SELECT 1 FROM newer)
"""

DELETE = f"""
WITH newer AS ({MOVED.replace("SET version", "SET deleted = true, version")})
DELETE FROM group_sites WHERE group_name = $1 AND EXISTS (SELECT 1 FROM newer)
"""


def statements(recorded: RecordedEvent) -> list[Statement]:
    event = recorded.event
    if not isinstance(event, GroupEvent):
        return []
    stream = (event.group, recorded.version, recorded.epoch, str(recorded.transaction_id))
    match event:
        case GroupCreated():
            return [(CREATE, (*stream, event.at, list(event.sites)))]
        case GroupSiteAdded():
            return [(ADD, (*stream, event.member, event.at))]
        case GroupSiteRemoved():
            return [(REMOVE, (*stream, event.member))]
        case GroupDeleted():
            return [(DELETE, stream)]
    return []


async def apply(connection: Connection, events: list[RecordedEvent]) -> None:
    await run(connection, (statement for recorded in events for statement in statements(recorded)))


async def reset(connection: Connection) -> None:
    await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
