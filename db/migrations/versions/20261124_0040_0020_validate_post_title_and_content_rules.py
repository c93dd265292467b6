"""Validate posts' title and content rules (added NOT VALID by 0019)

Validation reads every post under a lock that lets reads and writes go on, in a transaction
of its own. A post that the Data API gave a title on two lines, one of blanks only, or a
content over 50,000 characters fails it: correct those rows and migrate again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24 00:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As db/models/base.py states it at this revision: migrations do not import the models.
NOT_IN_A_LINE = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff"
)
ONE_LINE = f"^[^{NOT_IN_A_LINE}]*[^{BLANK}][^{NOT_IN_A_LINE}]*$"
RULES = {
    "ck_posts_title_one_visible_line": f"title ~ '{ONE_LINE}'",
    "ck_posts_content_length": "char_length(content) <= 50000",
}


def upgrade() -> None:
    for name in RULES:
        op.execute(f"ALTER TABLE public.posts VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: each is added anew, as 0019 left it.
    for name, rule in RULES.items():
        op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")
