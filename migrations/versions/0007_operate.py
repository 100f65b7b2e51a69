"""Operating: when each API key was last used, and a webhook's previous signing secret during
the overlap after a rotation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from service.ops.migrate import run_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
-- Written at most once a minute per key (see service/access/credentials.py), not per request.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
CREATE INDEX ON api_keys (site, created_at);

-- After a rotation, deliveries are signed with the previous secret too until
-- previous_secret_until; then the previous salt is set to NULL (forgotten).
ALTER TABLE webhooks ADD COLUMN previous_secret_salt bytea;
ALTER TABLE webhooks ADD COLUMN previous_secret_until timestamptz;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_previous_secret_both
    CHECK ((previous_secret_salt IS NULL) = (previous_secret_until IS NULL));
"""

DOWNGRADE = """
ALTER TABLE webhooks DROP CONSTRAINT webhooks_previous_secret_both;
ALTER TABLE webhooks DROP COLUMN previous_secret_until;
ALTER TABLE webhooks DROP COLUMN previous_secret_salt;
DROP INDEX api_keys_site_created_at_idx;
ALTER TABLE api_keys DROP COLUMN last_used_at;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
