"""The log after its database moves to another PostgreSQL cluster: a restore from `pg_dump`, a
move to a new server or a managed database, `pg_upgrade`.

Transaction ids, which order the log, belong to a cluster. Each cluster the log is written on
gets an epoch (`cluster_epochs`, migration 0005), and the log is ordered by (epoch, transaction
id, position). A cluster the log was copied to writes nothing until it is adopted: then its
epoch starts, after every event the copy brought, and the old ones are closed for good.
"""

from dataclasses import dataclass

from service.db import Connection

# The cluster's identity: initdb chooses it; base backups and replicas keep it; a dump restored
# elsewhere and pg_upgrade's new cluster have another.
SYSTEM_IDENTIFIER = "SELECT system_identifier FROM pg_control_system()"
LATEST = "SELECT epoch, system_identifier FROM cluster_epochs ORDER BY epoch DESC LIMIT 1"


class NotMigrated(Exception):
    """The database has no cluster epochs yet."""

    def __init__(self) -> None:
        super().__init__("the database has no cluster epochs yet: run `threadlog migrate` first")


class ClusterMoved(Exception):
    """The log was written on another PostgreSQL cluster and this one is not adopted yet."""

    def __init__(self) -> None:
        super().__init__(
            "the event log was written on another PostgreSQL cluster (a restore, a move or an "
            "upgrade); once everything is restored, run `threadlog adopt-cluster`"
        )


@dataclass(frozen=True, slots=True)
class Epoch:
    epoch: int
    # This cluster's system identifier.
    system_identifier: int
    # False when this cluster was writing the latest epoch already.
    started: bool


async def check_cluster(connection: Connection) -> None:
    """Raise ClusterMoved unless the log's latest epoch is this cluster's.

    A database older than migration 0005 has no epochs: nothing to check (readiness says
    that it needs migrating)."""
    if not await migrated(connection):
        return
    latest = await connection.fetchrow(LATEST)
    here = await connection.fetchval(SYSTEM_IDENTIFIER)
    if latest is None or latest["system_identifier"] != here:
        raise ClusterMoved()


async def migrated(connection: Connection) -> bool:
    found: bool = await connection.fetchval("SELECT to_regclass('cluster_epochs') IS NOT NULL")
    return found


async def adopt_cluster(connection: Connection, *, new_epoch: bool = False) -> Epoch:
    """Start this cluster's epoch, unless the latest already is its own (or `new_epoch`).

    Only for a log whose copy is complete: every event of an earlier epoch is final from here
    on, and readers show them all. Appends wait meanwhile, and one that had begun in the old
    epoch commits first, so nothing is added to an epoch after it closed. `new_epoch` starts
    one on the same cluster: after a point-in-time recovery or a failover to a replica that
    had not received everything, subscribers may hold cursors past the transaction ids this
    cluster hands out next; the new epoch comes after them all.
    """
    if not await migrated(connection):
        raise NotMigrated()
    async with connection.transaction():
        await connection.execute("LOCK TABLE cluster_epochs, events IN EXCLUSIVE MODE")
        latest = await connection.fetchrow(LATEST)
        here: int = await connection.fetchval(SYSTEM_IDENTIFIER)
        if latest is not None and latest["system_identifier"] == here and not new_epoch:
            return Epoch(latest["epoch"], here, started=False)
        epoch = (latest["epoch"] if latest else 0) + 1
        await connection.execute(
            "INSERT INTO cluster_epochs (epoch, system_identifier) VALUES ($1, $2)", epoch, here
        )
        return Epoch(epoch, here, started=True)
