"""Recent comments and groups of sites: an index that finds a site's newest published comments
without reading the rest, and the read models of groups (their streams' versions, their sites).

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

from service.ops.migrate import run_script

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
-- A site's recent comments walk this from the newest: a page costs its own rows, whatever the
-- table's size. Only published comments are ever shown there.
CREATE INDEX thread_comments_recent ON thread_comments (site, created_at DESC, comment_id DESC)
    WHERE status = 'published';
-- A post's feed, the same way: its newest published comments, not every comment of its site.
CREATE INDEX thread_comments_post_recent
    ON thread_comments (site, post_id, created_at DESC, comment_id DESC)
    WHERE status = 'published';

-- A group's stream (`group:<name>`): its version and last writer, which the next append
-- checks, as for a site's. A deleted group keeps its row (its stream goes on if it is made
-- again).
CREATE TABLE groups (
    group_name           text PRIMARY KEY,
    version              integer NOT NULL,
    last_epoch           integer NOT NULL,
    last_transaction_id  xid8 NOT NULL,
    created_at           timestamptz NOT NULL,
    deleted              boolean NOT NULL DEFAULT false
);

CREATE TABLE group_sites (
    group_name  text NOT NULL,
    site        text NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (group_name, site)
);
"""

DOWNGRADE = """
DROP TABLE group_sites, groups;
DROP INDEX thread_comments_post_recent, thread_comments_recent;
"""


def upgrade() -> None:
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
