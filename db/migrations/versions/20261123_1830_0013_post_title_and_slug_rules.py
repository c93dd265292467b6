"""A post's title has a visible character and its slug is what the API would make of a title

Supabase's Data API lets an author insert posts without the API's validation: an empty title,
or a slug such as `A/B` that no `/posts/{slug}` URL can reach. The API's own rules now hold
for every writer: a title with a character other than a space, and a slug of lower-case
letters and digits in groups joined by single hyphens (python-slugify's output, a numbered or
random suffix included). Added NOT VALID (new writes are checked at once); 0014 validates the
existing rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 18:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = {
    "ck_posts_title_visible": "btrim(title, ' ') <> ''",
    "ck_posts_slug_shape": "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'",
}


def upgrade() -> None:
    for name, rule in RULES.items():
        op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")


def downgrade() -> None:
    for name in RULES:
        op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {name}")
