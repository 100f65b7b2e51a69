"""The core: event log, write-side decision state, read models.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from service.ops.migrate import run_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Index names follow PostgreSQL's defaults so that `CREATE TABLE ... (LIKE ... INCLUDING ALL)`
# in the rebuild schema produces the same names, and a swapped-in table looks migrated.
UPGRADE = """
CREATE TABLE sites (
    site        text PRIMARY KEY,
    title       text NOT NULL,
    origins     text[] NOT NULL DEFAULT '{}',
    ip_salt     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id         text PRIMARY KEY,
    site           text NOT NULL REFERENCES sites ON DELETE CASCADE,
    role           text NOT NULL CHECK (role IN ('publisher', 'moderator', 'subscriber')),
    secret_sha256  bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

CREATE TABLE server_secrets (
    name    text PRIMARY KEY,
    secret  bytea NOT NULL
);

CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text NOT NULL,
    version         integer NOT NULL,
    event_id        uuid NOT NULL UNIQUE,
    site            text NOT NULL,
    type            text NOT NULL,
    schema_version  smallint NOT NULL,
    data            jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);
CREATE INDEX ON events (site, transaction_id, position);
CREATE INDEX ON events (transaction_id, position);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER events_append_only_rows BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Write side: the small decision state of each post's stream, locked per post by appends.
CREATE TABLE streams (
    stream_id            text PRIMARY KEY,
    site                 text NOT NULL,
    post_id              text NOT NULL,
    version              integer NOT NULL,
    last_transaction_id  xid8 NOT NULL,
    deleted              boolean NOT NULL DEFAULT false,
    title                text NOT NULL,
    url                  text NOT NULL,
    labels               text[] NOT NULL,
    published_at         timestamptz NOT NULL
);

CREATE TABLE stream_comments (
    site                 text NOT NULL,
    comment_id           text NOT NULL,
    post_id              text NOT NULL,
    depth                integer NOT NULL,
    deleted              boolean NOT NULL DEFAULT false,
    delete_token_sha256  bytea,
    PRIMARY KEY (site, comment_id)
);

CREATE TABLE idempotency_keys (
    key_sha256      bytea PRIMARY KEY,
    request_sha256  bytea NOT NULL,
    status          smallint NOT NULL,
    body            jsonb NOT NULL,
    location        text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON idempotency_keys (created_at);

CREATE TABLE projection_checkpoints (
    name            text PRIMARY KEY,
    transaction_id  xid8 NOT NULL,
    position        bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Read models.
CREATE TABLE posts (
    site           text NOT NULL,
    post_id        text NOT NULL,
    title          text NOT NULL,
    url            text NOT NULL,
    labels         text[] NOT NULL,
    published_at   timestamptz NOT NULL,
    comment_count  integer NOT NULL DEFAULT 0,
    deleted        boolean NOT NULL DEFAULT false,
    -- The last event applied to this row: re-applying an older one changes nothing.
    position       bigint NOT NULL,
    PRIMARY KEY (site, post_id)
);

CREATE TABLE thread_comments (
    site              text NOT NULL,
    comment_id        text NOT NULL,
    post_id           text NOT NULL,
    parent_id         text,
    root_id           text NOT NULL,
    ancestors         text[] NOT NULL,
    position          bigint NOT NULL,
    author_name       text,
    author_website    text,
    body_html         text,
    created_at        timestamptz NOT NULL,
    deleted_by        text,
    live_descendants  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (site, comment_id)
);
CREATE INDEX ON thread_comments (site, post_id, position) WHERE parent_id IS NULL;
CREATE INDEX ON thread_comments (site, root_id, position);

CREATE TABLE labels (
    site        text NOT NULL,
    label_key   text NOT NULL,
    label       text NOT NULL,
    post_count  integer NOT NULL,
    PRIMARY KEY (site, label_key)
);

CREATE TABLE label_posts (
    site          text NOT NULL,
    label_key     text NOT NULL,
    post_id       text NOT NULL,
    -- The post's own spelling; the index shows the earliest published post's.
    label         text NOT NULL,
    published_at  timestamptz NOT NULL,
    PRIMARY KEY (site, label_key, post_id)
);
CREATE INDEX ON label_posts (site, label_key, published_at, post_id);

-- The last event applied to each post's labels: re-applying an older one changes nothing.
CREATE TABLE label_post_positions (
    site      text NOT NULL,
    post_id   text NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (site, post_id)
);
"""

DOWNGRADE = """
DROP TABLE label_post_positions, label_posts, labels, thread_comments, posts,
    projection_checkpoints, idempotency_keys, stream_comments, streams, events, server_secrets,
    api_keys, sites;
DROP FUNCTION events_are_append_only();
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
