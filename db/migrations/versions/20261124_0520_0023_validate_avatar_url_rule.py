"""Validate the avatar URL rule (added NOT VALID by 0022)

Validation reads every profile under a lock that lets reads and writes go on, in a transaction
of its own. A profile whose avatar URL the Data API wrote against the API's rule fails it
(one with a space or an invisible character, with no host, or with `HTTPS://` in capitals):
correct those rows (`UPDATE user_profiles SET avatar_url = NULL WHERE NOT (…)`) and migrate
again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-24 05:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As db/models/base.py states it at this revision: migrations do not import the models.
BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff"
)
IN_AUTHORITY = f"[^{BLANK}/?#@]"
HTTP_URL = f"^https?://({IN_AUTHORITY}*@)?[^{BLANK}/?#@:]{IN_AUTHORITY}*([/?#][^{BLANK}]*)?$"
CONSTRAINT = "ck_user_profiles_avatar_url_http"
RULE = f"avatar_url ~ '{HTTP_URL}'"


def upgrade() -> None:
    op.execute(f"ALTER TABLE public.user_profiles VALIDATE CONSTRAINT {CONSTRAINT}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: it is added anew, as 0022 left it.
    op.execute(f"ALTER TABLE public.user_profiles DROP CONSTRAINT {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE public.user_profiles ADD CONSTRAINT {CONSTRAINT} CHECK ({RULE}) NOT VALID"
    )
