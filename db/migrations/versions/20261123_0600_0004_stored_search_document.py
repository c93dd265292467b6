"""A stored full-text document for searches

Searches filtered `to_tsvector('english', title || ' ' || content)`, an expression the GIN
index could answer but that a walk of the newest published posts recomputed for every row it
read: 0.2-0.7 ms per 1 KB post. A search for two common words read ~850 posts before finding
a page at a million posts (570 ms, against 5 ms at 10,000). The document is now a stored
generated column: PostgreSQL computes it once per write, and the GIN index covers the column.

Adding a stored generated column rewrites `posts` under an ACCESS EXCLUSIVE lock (to_tsvector
of every post: minutes at a million rows on two cores), and the index is swapped inside that
rewrite's transaction, where CONCURRENTLY cannot run: squawk's rules against both are waived
for this revision (`SQUAWK_IGNORE`). Run it in a maintenance window on a large table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQUAWK_IGNORE = (
    "adding-field-with-default",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
)
DOCUMENT = "to_tsvector('english'::regconfig, title || ' ' || content)"


def upgrade() -> None:
    op.drop_index("ix_posts_search", table_name="posts", postgresql_using="gin")
    op.add_column(
        "posts",
        sa.Column(
            "search_vector", TSVECTOR(), sa.Computed(DOCUMENT, persisted=True), nullable=False
        ),
    )
    op.create_index("ix_posts_search", "posts", ["search_vector"], postgresql_using="gin")
    # The new column has no statistics until autovacuum gets to it: without them the planner
    # takes a common word for a rare one and reads every match through the GIN index.
    op.execute("ANALYZE posts")


def downgrade() -> None:
    op.drop_index("ix_posts_search", table_name="posts", postgresql_using="gin")
    op.drop_column("posts", "search_vector")
    op.create_index("ix_posts_search", "posts", [sa.text(DOCUMENT)], postgresql_using="gin")
