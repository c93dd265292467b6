"""A profile's avatar URL follows the API's rule, whoever writes it

0010 gave the database only the start of the API's rule (`^https?://`, in any case): the Data
API could still store an avatar URL with spaces, control characters, zero-width characters or
a bidirectional override (`https://paypal.com\u202e@evil`, which reads as another address), or
one with no host at all, which the API refuses. The rule is now the API's own pattern
(`HTTP_URL` in db/models/base.py; a test compares the two over every character they name). It
is added NOT VALID, which checks new writes at once; 0023 validates the existing rows.

It replaces 0010's constraint, under the same name: every URL the new rule takes, the old one
took (it starts with `http://` or `https://`, in lower case only, as the API has always had
it), so dropping the old removes no guarantee: squawk's ban-drop-constraint is waived for this
revision (`SQUAWK_IGNORE`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24 05:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
SQUAWK_IGNORE = ("ban-drop-constraint",)

# As db/models/base.py states it at this revision: migrations do not import the models.
BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff"
)
IN_AUTHORITY = f"[^{BLANK}/?#@]"
HTTP_URL = f"^https?://({IN_AUTHORITY}*@)?[^{BLANK}/?#@:]{IN_AUTHORITY}*([/?#][^{BLANK}]*)?$"
CONSTRAINT = "ck_user_profiles_avatar_url_http"
RULE = f"avatar_url ~ '{HTTP_URL}'"
RULE_AS_0010 = "avatar_url ~* '^https?://'"


def upgrade() -> None:
    op.execute(f"ALTER TABLE public.user_profiles DROP CONSTRAINT {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE public.user_profiles ADD CONSTRAINT {CONSTRAINT} CHECK ({RULE}) NOT VALID"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE public.user_profiles DROP CONSTRAINT {CONSTRAINT}")
    # As 0011 left it: validated, which the rows of a database that passed 0022 all are.
    op.execute(
        f"ALTER TABLE public.user_profiles ADD CONSTRAINT {CONSTRAINT} CHECK ({RULE_AS_0010})"
    )
