"""Cluster epochs: the log's order survives a move to another PostgreSQL cluster.

Transaction ids belong to a cluster; `pg_dump | pg_restore` into a new server (or `pg_upgrade`)
brings the ids along but not the counter they came from. Each cluster the log is written on
gets an epoch, and the log is ordered by (epoch, transaction id, position): everything written
on a new cluster comes after everything copied to it. Not PostgreSQL's epoch (the high half of
an xid8, counting wraparounds): a count of the clusters the log has lived on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from service.ops.migrate import run_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
-- Appends wait from here to the end of this migration, so what it finds in the log is final.
ALTER TABLE events ADD COLUMN epoch integer NOT NULL DEFAULT 1;

CREATE TABLE cluster_epochs (
    epoch              integer PRIMARY KEY CHECK (epoch > 0),
    -- pg_control_system().system_identifier of the cluster that writes this epoch; NULL for a
    -- cluster that is not this one and is not known (a log restored before this revision).
    system_identifier  bigint,
    started_at         timestamptz NOT NULL DEFAULT now()
);

-- The epoch this cluster writes in: the latest, if it is this cluster's. Otherwise the log was
-- copied here from another cluster and nothing may be written before `threadlog adopt-cluster`
-- (service/ops/moves.py) starts this cluster's epoch. pg_control_system() reads a file, which
-- costs more than the rest of an append's statement: a session, which never changes cluster,
-- keeps what it read for as long as it lives.
CREATE FUNCTION cluster_epoch() RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
    latest cluster_epochs;
    here text := current_setting('threadlog.system_identifier', true);
BEGIN
    IF here IS NULL OR here = '' THEN
        here := (SELECT system_identifier FROM pg_control_system())::text;
        PERFORM set_config('threadlog.system_identifier', here, false);
    END IF;
    SELECT * INTO latest FROM cluster_epochs ORDER BY epoch DESC LIMIT 1;
    IF latest.system_identifier::text IS DISTINCT FROM here THEN
        RAISE EXCEPTION 'the event log was written on another PostgreSQL cluster'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'restored, moved or upgraded: run threadlog adopt-cluster';
    END IF;
    RETURN latest.epoch;
END $$;

-- Every event so far is epoch 1. They were written here unless one has a transaction id that
-- this cluster has not handed out yet: then they came from another cluster, which is not known.
INSERT INTO cluster_epochs (epoch, system_identifier)
SELECT 1, CASE WHEN EXISTS (SELECT FROM events
                            WHERE transaction_id >= pg_snapshot_xmax(pg_current_snapshot()))
               THEN NULL
               ELSE (SELECT system_identifier FROM pg_control_system()) END;

ALTER TABLE events ALTER COLUMN epoch SET DEFAULT cluster_epoch();
CREATE INDEX ON events (epoch, transaction_id, position);
CREATE INDEX ON events (site, epoch, transaction_id, position);
DROP INDEX events_transaction_id_position_idx, events_site_transaction_id_position_idx;

-- Cursors that are kept, and each stream's last writer, name their epoch too. Everything kept
-- so far is in epoch 1; from now on the service always says which.
ALTER TABLE webhooks ADD COLUMN epoch integer NOT NULL DEFAULT 1;
ALTER TABLE webhooks ALTER COLUMN epoch DROP DEFAULT;
ALTER TABLE projection_checkpoints ADD COLUMN epoch integer NOT NULL DEFAULT 1;
ALTER TABLE projection_checkpoints ALTER COLUMN epoch DROP DEFAULT;
ALTER TABLE streams ADD COLUMN last_epoch integer NOT NULL DEFAULT 1;
ALTER TABLE streams ALTER COLUMN last_epoch DROP DEFAULT;
ALTER TABLE site_streams ADD COLUMN last_epoch integer NOT NULL DEFAULT 1;
ALTER TABLE site_streams ALTER COLUMN last_epoch DROP DEFAULT;
"""

DOWNGRADE = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM events WHERE epoch > 1) THEN
        RAISE EXCEPTION 'the log spans several PostgreSQL clusters: revision 0004 cannot order it';
    END IF;
END $$;
ALTER TABLE site_streams DROP COLUMN last_epoch;
ALTER TABLE streams DROP COLUMN last_epoch;
ALTER TABLE projection_checkpoints DROP COLUMN epoch;
ALTER TABLE webhooks DROP COLUMN epoch;
CREATE INDEX ON events (transaction_id, position);
CREATE INDEX ON events (site, transaction_id, position);
ALTER TABLE events DROP COLUMN epoch;
DROP FUNCTION cluster_epoch();
DROP TABLE cluster_epochs;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
