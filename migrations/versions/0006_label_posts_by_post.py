"""label_posts by post: setting a post's labels removes the ones it lost by an index lookup of
the post's rows, not a scan of its site's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0006"
down_revision = "0005"

UPGRADE = """
CREATE INDEX ON label_posts (site, post_id);
"""

DOWNGRADE = """
DROP INDEX label_posts_site_post_id_idx;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
