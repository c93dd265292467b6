"""Validate the title and avatar URL rules (added NOT VALID by 0024)

Validation reads every post and profile under a lock that lets reads and writes go on, in a
transaction of its own. A title made only of the new blanks, or an avatar URL holding one,
which only the Data API could have written, fails it: correct those rows and migrate again.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-24 05:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As db/models/base.py states it at this revision: migrations do not import the models.
NOT_IN_A_LINE = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f"
    r"\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb"
)
ONE_LINE = f"^[^{NOT_IN_A_LINE}]*[^{BLANK}][^{NOT_IN_A_LINE}]*$"
IN_AUTHORITY = f"[^{BLANK}/?#@]"
HTTP_URL = f"^https?://({IN_AUTHORITY}*@)?[^{BLANK}/?#@:]{IN_AUTHORITY}*([/?#][^{BLANK}]*)?$"
RULES = {
    ("posts", "ck_posts_title_one_visible_line"): f"title ~ '{ONE_LINE}'",
    ("user_profiles", "ck_user_profiles_avatar_url_http"): f"avatar_url ~ '{HTTP_URL}'",
}


def upgrade() -> None:
    for table, name in RULES:
        op.execute(f"ALTER TABLE public.{table} VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: each is added anew, as 0024 left it.
    for (table, name), rule in RULES.items():
        op.execute(f"ALTER TABLE public.{table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE public.{table} ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")
