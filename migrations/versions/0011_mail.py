"""Mail: readers' reply subscriptions, the outbox fed from the log, spent moderator links.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
-- An address that asked for mail on a site. It is personal data: an erasure of its author
-- deletes the row, and the cascade takes its subscriptions and its pending mail with it.
CREATE TABLE mail_recipients (
    site                  text NOT NULL,
    email_hash            text NOT NULL,
    address               text NOT NULL,
    language              text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    -- Double opt-in: nothing but the confirmation goes out before this is set.
    confirmed_at          timestamptz,
    -- A 5xx answer to this address: no mail until it confirms again.
    bounced_at            timestamptz,
    site_unsubscribed_at  timestamptz,
    PRIMARY KEY (site, email_hash)
);

-- Replies to these comments are mailed to their authors.
CREATE TABLE mail_subscriptions (
    site        text NOT NULL,
    comment_id  text NOT NULL,
    email_hash  text NOT NULL,
    post_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, comment_id, email_hash),
    FOREIGN KEY (site, email_hash) REFERENCES mail_recipients ON DELETE CASCADE
);
CREATE INDEX ON mail_subscriptions (site, email_hash, post_id);

-- Mail to send. `items` are the comment ids one mail gathers; their text is read when the
-- mail is sent, so an erased or deleted comment is never mailed. A row is marked sent right
-- after the server took it: a restart sends only what is still pending.
CREATE TABLE mail_outbox (
    mail_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site             text NOT NULL,
    kind             text NOT NULL,
    email_hash       text,
    address          text NOT NULL,
    language         text NOT NULL,
    -- Replies are gathered per reader and thread.
    post_id          text,
    items            text[] NOT NULL DEFAULT '{}',
    state            text NOT NULL DEFAULT 'pending',
    created_at       timestamptz NOT NULL DEFAULT now(),
    due_at           timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    sent_at          timestamptz,
    FOREIGN KEY (site, email_hash) REFERENCES mail_recipients ON DELETE CASCADE
);
CREATE INDEX ON mail_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX ON mail_outbox (address, sent_at) WHERE state = 'sent';
CREATE INDEX ON mail_outbox (site, sent_at) WHERE state = 'sent';

-- Which replies a reader was told of: a reply held, then approved (maybe twice), is told once.
CREATE TABLE mail_told (
    site        text NOT NULL,
    comment_id  text NOT NULL,
    email_hash  text NOT NULL,
    PRIMARY KEY (site, comment_id, email_hash),
    FOREIGN KEY (site, email_hash) REFERENCES mail_recipients ON DELETE CASCADE
);

-- Moderators' approve and reject links work once.
CREATE TABLE mail_links_used (
    link_id  text PRIMARY KEY,
    used_at  timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE mail_links_used;
DROP TABLE mail_told;
DROP TABLE mail_outbox;
DROP TABLE mail_subscriptions;
DROP TABLE mail_recipients;
DELETE FROM projection_checkpoints WHERE name = 'mail:outbox';
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
