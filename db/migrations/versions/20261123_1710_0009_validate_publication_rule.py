"""Validate that every published post has a publication time (added NOT VALID by 0008)

Validation reads every post under a lock that lets reads and writes go on, in a transaction
of its own: 0008's lock on posts is already released.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 17:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_posts_published_posts_have_published_at"
RULE = "NOT is_published OR published_at IS NOT NULL"


def upgrade() -> None:
    op.execute(f"ALTER TABLE public.posts VALIDATE CONSTRAINT {CONSTRAINT}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: it is added anew, as 0008 left it.
    op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {CONSTRAINT}")
    op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {CONSTRAINT} CHECK ({RULE}) NOT VALID")
