"""Only hidden comments keep their count of live replies; a published one holds 0 (see
service/projections/threads.py): replies no longer write their ancestors' rows.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = """
UPDATE thread_comments SET live_descendants = 0
WHERE status = 'published' AND live_descendants <> 0;
"""

DOWNGRADE = """
UPDATE thread_comments t
SET live_descendants = (
    SELECT count(*) FROM thread_comments d
    WHERE d.site = t.site AND d.root_id = t.root_id AND d.position > t.position
      AND d.status = 'published' AND t.comment_id = ANY(d.ancestors)
)
WHERE t.status = 'published';
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
