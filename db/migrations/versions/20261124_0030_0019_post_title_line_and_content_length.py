"""A post's title is one line with a visible character, and its content at most 50,000 characters

0013 gave the database the API's title rule only for ASCII spaces: the Data API could still
give a post a title of an ideographic space or a zero-width one, a title on two lines, or a
tab, all of which the API refuses, and a content of any length, where the API takes 50,000
characters. The title rule is now the API's own pattern (`ONE_LINE` in db/models/base.py:
no control characters or line separators, and a character other than a blank; a test compares
the two over every character they name), and the content has the API's bound. Both are added
NOT VALID (new writes are checked at once); 0020 validates the existing rows.

The title rule replaces 0013's `ck_posts_title_visible`, which it includes (a title with a
visible character has one that is not a space), so dropping that constraint removes no
guarantee: squawk's ban-drop-constraint is waived for this revision (`SQUAWK_IGNORE`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24 00:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
SQUAWK_IGNORE = ("ban-drop-constraint",)

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
REPLACED = ("ck_posts_title_visible", "btrim(title, ' ') <> ''")


def upgrade() -> None:
    op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {REPLACED[0]}")
    for name, rule in RULES.items():
        op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")


def downgrade() -> None:
    for name in RULES:
        op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {name}")
    # As 0014 left it: validated, which the rows of a database that passed 0019 all are.
    op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {REPLACED[0]} CHECK ({REPLACED[1]})")
