"""Moderation: comment status apart from its flags, site policy, bans, reports, the audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from service.ops.migrate import run_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
-- Write side. A post's decision state learns each comment's status, time and author hashes
-- (salted per site: bans match on them), and whether the thread was closed.
ALTER TABLE streams ADD COLUMN closed boolean NOT NULL DEFAULT false;
ALTER TABLE stream_comments
    ADD COLUMN status           text NOT NULL DEFAULT 'published',
    ADD COLUMN created_at       timestamptz,
    ADD COLUMN email_hash       text,
    ADD COLUMN ip_hash          text,
    ADD COLUMN name_ip_hash     text,
    ADD COLUMN reporters        text[] NOT NULL DEFAULT '{}';
UPDATE stream_comments SET status = 'deleted' WHERE deleted;
-- No index on the hashes: only a ban that removes comments looks for them, scanning the site's
-- rows (its primary-key range), and every comment would pay for keeping three indexes.

-- A site's stream (`site:<site>`): its policy and bans, locked by its appends.
CREATE TABLE site_streams (
    stream_id            text PRIMARY KEY,
    site                 text NOT NULL,
    version              integer NOT NULL,
    last_transaction_id  xid8 NOT NULL,
    settings             jsonb NOT NULL
);

CREATE TABLE site_bans (
    site        text NOT NULL,
    ban_id      text NOT NULL,
    match       text NOT NULL,
    hash        text NOT NULL,
    expires_at  timestamptz,
    hold        boolean NOT NULL DEFAULT false,
    lifted      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (site, ban_id)
);
CREATE INDEX ON site_bans (site, hash);

-- Authors (email hash, else name and IP hash) with a comment published, for `first-time`.
CREATE TABLE site_known_authors (
    site        text NOT NULL,
    author_key  text NOT NULL,
    PRIMARY KEY (site, author_key)
);

-- Not events: a fixed one-minute window per client hash, shared by every instance.
CREATE TABLE rate_limits (
    site         text NOT NULL,
    scope        text NOT NULL,
    client_hash  text NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (site, scope, client_hash, window_start)
);
CREATE INDEX ON rate_limits (window_start);

-- Read models.
ALTER TABLE thread_comments
    ADD COLUMN status         text NOT NULL DEFAULT 'published',
    ADD COLUMN status_reason  text,
    -- The last event applied to this row's status or text: an older one changes nothing.
    ADD COLUMN row_position   bigint NOT NULL DEFAULT 0,
    ADD COLUMN status_at      timestamptz,
    ADD COLUMN edited_at      timestamptz,
    ADD COLUMN author_key     text,
    ADD COLUMN report_count   integer NOT NULL DEFAULT 0;
UPDATE thread_comments SET status = 'deleted' WHERE deleted_by IS NOT NULL;
UPDATE thread_comments SET row_position = position;
-- The queue's indexes hold only the few comments in it: a published comment costs nothing.
CREATE INDEX ON thread_comments (site, status_at, comment_id) WHERE status = 'held';
CREATE INDEX ON thread_comments (site, status_at, comment_id) WHERE report_count > 0;

ALTER TABLE posts ADD COLUMN closed boolean NOT NULL DEFAULT false;

CREATE TABLE site_settings (
    site      text PRIMARY KEY,
    settings  jsonb NOT NULL,
    position  bigint NOT NULL
);

CREATE TABLE bans (
    site        text NOT NULL,
    ban_id      text NOT NULL,
    match       text NOT NULL,
    comment_id  text NOT NULL,
    expires_at  timestamptz,
    reason      text,
    created_at  timestamptz NOT NULL,
    lifted_at   timestamptz,
    position    bigint NOT NULL,
    PRIMARY KEY (site, ban_id)
);

CREATE TABLE moderation_audit (
    site        text NOT NULL,
    position    bigint NOT NULL,
    event_id    uuid NOT NULL,
    type        text NOT NULL,
    post_id     text,
    comment_id  text,
    actor       text,
    reason      text,
    at          timestamptz NOT NULL,
    data        jsonb NOT NULL,
    PRIMARY KEY (site, position)
);
CREATE INDEX ON moderation_audit (site, comment_id, position);
CREATE INDEX ON moderation_audit (site, actor, position);
"""

DOWNGRADE = """
DROP TABLE moderation_audit, bans, site_settings, rate_limits, site_known_authors, site_bans,
    site_streams;
ALTER TABLE posts DROP COLUMN closed;
ALTER TABLE thread_comments DROP COLUMN status, DROP COLUMN status_reason,
    DROP COLUMN row_position, DROP COLUMN status_at, DROP COLUMN edited_at,
    DROP COLUMN author_key, DROP COLUMN report_count;
ALTER TABLE stream_comments DROP COLUMN status, DROP COLUMN created_at, DROP COLUMN email_hash,
    DROP COLUMN ip_hash, DROP COLUMN name_ip_hash, DROP COLUMN reporters;
ALTER TABLE streams DROP COLUMN closed;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
