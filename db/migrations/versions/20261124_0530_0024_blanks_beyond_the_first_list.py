"""Titles and avatar URLs: the Arabic letter mark, Hangul fillers, annotation marks are blanks

The blanks the title rule and the avatar URL rule share (0019, 0022) left out characters that
show nothing or reorder what is shown: the Arabic letter mark (a bidirectional mark, U+061C),
the Hangul fillers and the interlinear annotation marks. A title of them alone read as empty,
and an avatar URL could hide one. Both rules are now the API's again (`BLANK` in db/models/base.py),
added NOT VALID, which checks new writes at once; 0025 validates the existing rows.

Each replaces its constraint under the same name: every value the new rule takes, the old one
took, so dropping the old removes no guarantee: squawk's ban-drop-constraint is waived for
this revision (`SQUAWK_IGNORE`).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-24 05:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
SQUAWK_IGNORE = ("ban-drop-constraint",)

# As db/models/base.py states it at this revision: migrations do not import the models.
NOT_IN_A_LINE = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f"
    r"\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb"
)
# As 0019 and 0022 had them.
BLANK_BEFORE = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff"
)


def rules(blank: str) -> dict[tuple[str, str], str]:
    """Each table's constraint and its rule, with `blank` as the blanks."""
    one_line = f"^[^{NOT_IN_A_LINE}]*[^{blank}][^{NOT_IN_A_LINE}]*$"
    in_authority = f"[^{blank}/?#@]"
    http_url = f"^https?://({in_authority}*@)?[^{blank}/?#@:]{in_authority}*([/?#][^{blank}]*)?$"
    return {
        ("posts", "ck_posts_title_one_visible_line"): f"title ~ '{one_line}'",
        ("user_profiles", "ck_user_profiles_avatar_url_http"): f"avatar_url ~ '{http_url}'",
    }


def upgrade() -> None:
    for (table, name), rule in rules(BLANK).items():
        op.execute(f"ALTER TABLE public.{table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE public.{table} ADD CONSTRAINT {name} CHECK ({rule}) NOT VALID")


def downgrade() -> None:
    # As 0020 and 0023 left them: validated, which the rows of a database that passed 0024
    # all are.
    for (table, name), rule in rules(BLANK_BEFORE).items():
        op.execute(f"ALTER TABLE public.{table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE public.{table} ADD CONSTRAINT {name} CHECK ({rule})")
