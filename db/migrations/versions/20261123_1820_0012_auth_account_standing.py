"""The local auth.users stand-in gains Supabase Auth's `banned_until` and `deleted_at`

Quire refreshes a signed-in user from Supabase Auth's account at least once a minute, and
refuses one that is gone: now also one that is banned or soft-deleted, which Supabase Auth
marks with these columns. Supabase's own table has them; the stand-in gets them only when
they are absent, in a DO block, as the stand-in itself was created (0001).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 18:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADD_STANDING = """
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM information_schema.columns
        WHERE table_schema = 'auth' AND table_name = 'users' AND column_name = 'banned_until'
    ) THEN
        ALTER TABLE auth.users
            ADD COLUMN banned_until timestamptz,
            ADD COLUMN deleted_at timestamptz;
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(ADD_STANDING)


def downgrade() -> None:
    # The columns stay: on Supabase they were never ours, and locally they hold accounts' state.
    pass
