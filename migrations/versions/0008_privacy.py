"""Privacy: the data keys that seal personal data in the log, each comment's key, erasures.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
-- The log stays append-only, with one exception: `threadlog seal-legacy` seals the personal
-- data of events written before sealing existed. Only their data and metadata change, once
-- (the metadata gains `sealed_at`), and only in a session that says it is doing that.
CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF current_setting('threadlog.sealing_legacy', true) = 'on'
           AND (to_jsonb(NEW) - 'data' - 'metadata') = (to_jsonb(OLD) - 'data' - 'metadata')
           AND NOT OLD.metadata ? 'sealed_at' AND NEW.metadata ? 'sealed_at' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END $$;

-- Not events: keys are destroyed, which is the point. `owner` names a key shared by many events
-- (`email:<digest>` for an author with an email, `day:<date>` for a day's IP digests); a key of
-- one comment has none. A destroyed key keeps its row (who asked, when) without the key.
CREATE TABLE data_keys (
    key_id        text PRIMARY KEY,
    site          text NOT NULL,
    owner         text,
    kek_id        text,
    wrapped       bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),
    CHECK ((wrapped IS NULL) = (kek_id IS NULL))
);
CREATE UNIQUE INDEX data_keys_live_owner ON data_keys (site, owner)
    WHERE destroyed_at IS NULL AND owner IS NOT NULL;
-- Retention looks for old day keys among the live ones (a few dozen).
CREATE INDEX data_keys_live_days ON data_keys (key_id)
    WHERE destroyed_at IS NULL AND site = '';

-- The KEKs that wrap data keys, known by their ids and a value each sealed: an instance started
-- without one of them refuses to run instead of writing keys nobody else can open.
CREATE TABLE kek_checks (
    kek_id  text PRIMARY KEY,
    sealed  bytea NOT NULL
);

-- The write side learns each comment's key (erasure destroys it), and the day key of its IP
-- digest and of each reporter's: once a day key is destroyed, retention forgets those digests
-- here too, as a replay of the log would.
ALTER TABLE stream_comments
    ADD COLUMN data_key       text,
    ADD COLUMN ip_day         text,
    ADD COLUMN reporter_days  text[] NOT NULL DEFAULT '{}';

-- What was erased, when and at whose request (no personal data: ids and counts).
CREATE TABLE erasures (
    site          text NOT NULL,
    erasure_id    text NOT NULL,
    requested_by  text NOT NULL,
    key_ids       text[] NOT NULL,
    comments      integer NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (site, erasure_id)
);
"""

DOWNGRADE = """
CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END $$;
DROP TABLE erasures;
ALTER TABLE stream_comments DROP COLUMN data_key, DROP COLUMN ip_day,
    DROP COLUMN reporter_days;
DROP TABLE kek_checks, data_keys;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
