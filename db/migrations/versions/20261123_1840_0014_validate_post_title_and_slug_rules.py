"""Validate posts' title and slug rules (added NOT VALID by 0013)

Validation reads every post under a lock that lets reads and writes go on, in a transaction
of its own. A post that the Data API gave an empty title or another kind of slug fails it:
correct those rows and migrate again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 18:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = {
    "ck_posts_title_visible": "btrim(title, ' ') <> ''",
    "ck_posts_slug_shape": "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'",
}


def upgrade() -> None:
    for name in RULES:
        op.execute(f"ALTER TABLE public.posts VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: each is added anew, as 0013 left it.
    for name, rule in RULES.items():
        op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")
