"""The write side's decision state becomes a projection of the log; Idempotency-Keys keep the
events a request appended instead of a rendered response.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
-- The stream version of the comment's own event (a hold at the next version is a hold at
-- birth), and of the last event applied to the row (an older one applied again is ignored).
ALTER TABLE stream_comments
    ADD COLUMN version      integer,
    ADD COLUMN row_version  integer NOT NULL DEFAULT 0;
UPDATE stream_comments c SET version = e.version
FROM events e
WHERE e.type IN ('comment.posted', 'comment.replied')
  AND e.site = c.site AND e.data->>'comment_id' = c.comment_id;

-- The comment that made its author known: a hold at its birth takes that back.
ALTER TABLE site_known_authors ADD COLUMN comment_id text;

-- A site stream that begins with a ban keeps the default settings: NULL until changed.
ALTER TABLE site_streams ALTER COLUMN settings DROP NOT NULL;

-- A replay answers from the events the first request appended, read from the log.
ALTER TABLE idempotency_keys ADD COLUMN event_ids uuid[];
UPDATE idempotency_keys k
SET event_ids = ARRAY(
    SELECT e.event_id FROM events e
    WHERE e.stream_id = c.stream_id
      AND (e.version = c.version OR (e.version = c.version + 1 AND k.body->>'status' = 'held'))
    ORDER BY e.version)
FROM events c
WHERE c.type IN ('comment.posted', 'comment.replied') AND c.data->>'comment_id' = k.body->>'id';
DELETE FROM idempotency_keys WHERE event_ids IS NULL;
ALTER TABLE idempotency_keys
    ALTER COLUMN event_ids SET NOT NULL,
    DROP COLUMN status, DROP COLUMN body, DROP COLUMN location;
"""

DOWNGRADE = """
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
    DROP COLUMN event_ids,
    ADD COLUMN status smallint NOT NULL,
    ADD COLUMN body jsonb NOT NULL,
    ADD COLUMN location text;
UPDATE site_streams SET settings = '{}' WHERE settings IS NULL;
ALTER TABLE site_streams ALTER COLUMN settings SET NOT NULL;
ALTER TABLE site_known_authors DROP COLUMN comment_id;
ALTER TABLE stream_comments DROP COLUMN version, DROP COLUMN row_version;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
