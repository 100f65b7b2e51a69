"""ANALYZE keeps no statistics of the events' payloads (`data`, `metadata`): no query of the
service filters on them, and they were most of what an ANALYZE of the log cost (a sample of
its rows' JSON, detoasted, sorted and compared), which the statistics keeper pays each time
the log doubles and autovacuum each time a tenth of it changed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from service.ops.migrate import run_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_script(
        "ALTER TABLE events ALTER COLUMN data SET STATISTICS 0,"
        " ALTER COLUMN metadata SET STATISTICS 0"
    )


def downgrade() -> None:
    run_script(
        "ALTER TABLE events ALTER COLUMN data SET STATISTICS -1,"
        " ALTER COLUMN metadata SET STATISTICS -1"
    )
