"""Validate that every profile's avatar is an http(s) URL (added NOT VALID by 0010)

Validation reads every profile under a lock that lets reads and writes go on, in a
transaction of its own. A profile that the Data API gave another kind of avatar fails it:
clear those (`UPDATE user_profiles SET avatar_url = NULL WHERE avatar_url !~* '^https?://'`)
and migrate again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 18:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVATAR_CHECK = "ck_user_profiles_avatar_url_http"
AVATAR_RULE = "avatar_url ~* '^https?://'"


def upgrade() -> None:
    op.execute(f"ALTER TABLE public.user_profiles VALIDATE CONSTRAINT {AVATAR_CHECK}")


def downgrade() -> None:
    # A constraint cannot be marked NOT VALID again: it is added anew, as 0010 left it.
    op.execute(f"ALTER TABLE public.user_profiles DROP CONSTRAINT {AVATAR_CHECK}")
    op.execute(
        f"ALTER TABLE public.user_profiles ADD CONSTRAINT {AVATAR_CHECK} "
        f"CHECK ({AVATAR_RULE}) NOT VALID"
    )
