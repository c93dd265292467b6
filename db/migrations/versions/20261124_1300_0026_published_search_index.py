"""The search index covers published posts only

Every search the API runs is over published posts (`WHERE is_published AND search_vector @@
…`), yet the GIN index held the words of drafts too: a tenth of its entries, built and kept
for no query. As a partial index it is 8% smaller at a million posts (176 MB, not 191), builds
faster (12.9-14.0 s against 15.3-16.0 s here), and writing a draft no longer touches it.

The new index is built before the old one is dropped: the build lets searches go on (writes
wait), and only the drop takes the brief exclusive lock. Both happen in the migration's
transaction, where CONCURRENTLY cannot run (squawk's rules against that are waived,
`SQUAWK_IGNORE`): run it in a maintenance window on a large table.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-24 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQUAWK_IGNORE = ("require-concurrent-index-creation", "require-concurrent-index-deletion")


def upgrade() -> None:
    op.create_index(
        "ix_posts_search_published",
        "posts",
        ["search_vector"],
        postgresql_using="gin",
        postgresql_where=sa.text("is_published"),
    )
    # A stopped seed may have left the old index dropped (it rebuilds what the models name).
    op.drop_index("ix_posts_search", table_name="posts", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_posts_search", "posts", ["search_vector"], postgresql_using="gin")
    op.drop_index("ix_posts_search_published", table_name="posts", if_exists=True)
