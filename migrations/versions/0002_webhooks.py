"""Webhooks: subscriptions that the dispatcher delivers to, and the record of its attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from service.ops.migrate import run_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE webhooks (
    webhook_id        uuid PRIMARY KEY,
    site              text NOT NULL REFERENCES sites ON DELETE CASCADE,
    url               text NOT NULL,
    -- Empty: every event type.
    types             text[] NOT NULL DEFAULT '{}',
    description       text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'paused', 'failing', 'disabled')),
    -- Not the secret: with the server key it derives the signing secret, never stored.
    secret_salt       bytea NOT NULL,
    -- The last event delivered (or skipped as before the webhook existed).
    transaction_id    xid8 NOT NULL,
    position          bigint NOT NULL,
    -- Failed attempts at the event after the checkpoint, and when they began.
    attempts          integer NOT NULL DEFAULT 0,
    failing_since     timestamptz,
    next_attempt_at   timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON webhooks (site, created_at);
CREATE INDEX ON webhooks (status);

CREATE TABLE webhook_deliveries (
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    cursor          text NOT NULL,
    attempt         integer NOT NULL,
    status_code     integer,
    succeeded       boolean NOT NULL,
    latency_ms      integer NOT NULL,
    error           text,
    attempted_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON webhook_deliveries (webhook_id, delivery_id);
CREATE INDEX ON webhook_deliveries (attempted_at);
"""

DOWNGRADE = """
DROP TABLE webhook_deliveries, webhooks;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
