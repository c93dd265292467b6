"""Posts' slugs are unique through an index that also serves prefix matches

Creating a post whose title's slug is taken counts the slugs `base` and `base-…` to number
the new one (`db.repositories.posts`). Under any collation but `C`, PostgreSQL cannot read
`slug LIKE 'base-%'` as a range of the unique constraint's index, and scanned every post:
the embedded server sorts by `C`, most servers by a locale (`C.UTF-8`, `en_US.UTF-8`). The
constraint becomes a unique index with the pattern operator class, which serves that range,
equality (a post by slug) and `ON CONFLICT (slug)` alike. It is built before the constraint
is dropped, in the same transaction, then takes the constraint's name: slugs are never
without a unique index, and its name is the one clients knew. Hence the two squawk rules
this revision waives besides the concurrent build (`SQUAWK_IGNORE`): `ban-drop-constraint`
and `renaming-object`.

The index is built in the migration's transaction, where CONCURRENTLY cannot run, while
posts are locked against writes (2.3 s at a million posts here): run it in a
maintenance window on a large table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQUAWK_IGNORE = ("require-concurrent-index-creation", "ban-drop-constraint", "renaming-object")


def upgrade() -> None:
    op.create_index(
        "uq_posts_slug_pattern",
        "posts",
        ["slug"],
        unique=True,
        postgresql_ops={"slug": "varchar_pattern_ops"},
    )
    op.drop_constraint("uq_posts_slug", "posts", type_="unique")
    op.execute("ALTER INDEX uq_posts_slug_pattern RENAME TO uq_posts_slug")


def downgrade() -> None:
    op.drop_index("uq_posts_slug", table_name="posts")
    op.create_unique_constraint("uq_posts_slug", "posts", ["slug"])
