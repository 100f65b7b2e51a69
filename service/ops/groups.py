"""Groups of sites as an operator manages them (`threadlog groups ...`): each change is an
event on the group's stream; listings come from its read models."""

from typing import Any

from service.access.credentials import UnknownSite, site_exists
from service.db import Connection, Pool
from service.domain.groups import AddGroupSite, CreateGroup, GroupCommand, GroupNotFound
from service.eventstore.store import RecordedEvent
from service.subscriptions.wakeup import CHANNEL
from service.write import group_writes

LISTING = """
SELECT g.group_name, g.created_at, count(m.site) AS sites
FROM groups g LEFT JOIN group_sites m USING (group_name)
WHERE NOT g.deleted
GROUP BY g.group_name, g.created_at ORDER BY g.group_name
"""

SHOW = """
SELECT g.group_name, g.created_at,
       array_remove(array_agg(m.site ORDER BY m.site), NULL) AS sites
FROM groups g LEFT JOIN group_sites m USING (group_name)
WHERE g.group_name = $1 AND NOT g.deleted
GROUP BY g.group_name, g.created_at
"""


async def change_group(
    connection: Connection, command: GroupCommand, metadata: dict[str, Any]
) -> list[RecordedEvent]:
    """Apply one group command; UnknownSite when it names a site that does not exist (a site
    already in the group may be removed whatever became of it)."""
    named = command.sites if isinstance(command, CreateGroup) else ()
    if isinstance(command, AddGroupSite):
        named = (command.site,)
    for site in named:
        if not await site_exists(connection, site):
            raise UnknownSite(site)
    async with connection.transaction():
        recorded = await group_writes.write(connection, command, metadata)
    if recorded:
        # Feed readers in other processes hear of it now rather than at their next look.
        await connection.execute(f"NOTIFY {CHANNEL}")
    return recorded


async def list_groups(connection: Connection | Pool) -> list[dict[str, Any]]:
    rows = await connection.fetch(LISTING)
    return [
        {"group": row["group_name"], "created_at": row["created_at"], "sites": row["sites"]}
        for row in rows
    ]


async def show_group(connection: Connection | Pool, group: str) -> dict[str, Any]:
    row = await connection.fetchrow(SHOW, group)
    if row is None:
        raise GroupNotFound(f"group {group!r} does not exist")
    return {
        "group": row["group_name"],
        "created_at": row["created_at"].isoformat(),
        "sites": list(row["sites"]),
    }
