"""Writing to a group's own stream (`group:<name>`): its creation, its members, its deletion.

Rare (an operator's command), so one command, one transaction, under the group's lock: the
state read after taking it is the state the append follows.
"""

from typing import Any

from service.db import Connection
from service.domain.groups import GroupCommand, GroupState, decide_group
from service.eventstore import appends
from service.eventstore.appends import NewEvent
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import group_stream_id, lock_key
from service.projections import apply_all
from service.write import decision_state

LOAD = """
SELECT g.version, g.last_epoch, g.last_transaction_id::text::bigint AS last_transaction_id,
       g.deleted, array_remove(array_agg(m.site ORDER BY m.site), NULL) AS sites
FROM groups g LEFT JOIN group_sites m USING (group_name)
WHERE g.group_name = $1
GROUP BY g.group_name
"""


async def write(
    connection: Connection, command: GroupCommand, metadata: dict[str, Any]
) -> list[RecordedEvent]:
    """Decide and append `command` in the caller's transaction; the read models follow."""
    stream_id = group_stream_id(command.group)
    await connection.execute(decision_state.LOCK_STREAMS, [lock_key(stream_id)])
    row = await connection.fetchrow(LOAD, command.group)
    version, last, state = 0, (0, 0), GroupState()
    if row is not None:
        version, last = row["version"], (row["last_epoch"], row["last_transaction_id"])
        state = GroupState(exists=not row["deleted"], sites=frozenset(row["sites"]))
    events = decide_group(command, state)
    if not events:
        return []
    new_events = [
        NewEvent(stream_id, version + number, event.site, event, metadata)
        for number, event in enumerate(events, start=1)
    ]
    recorded = await appends.append(connection, new_events, {stream_id: last})
    await apply_all(connection, recorded)
    return recorded
