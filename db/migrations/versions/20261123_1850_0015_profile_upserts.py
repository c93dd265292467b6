"""A profile upserted through the Data API: `authenticated` may also name its owner on update

PostgREST writes an upsert as `INSERT … ON CONFLICT (user_id) DO UPDATE SET user_id =
EXCLUDED.user_id, …`, which needs UPDATE on `user_id` too: with 0008's column grants a
profile upsert from a Supabase client was refused. The policies still pin the owner: an
update's new row must belong to the caller (`WITH CHECK`), so a profile cannot change hands.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 18:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("GRANT UPDATE (user_id) ON public.user_profiles TO authenticated")


def downgrade() -> None:
    op.execute("REVOKE UPDATE (user_id) ON public.user_profiles FROM authenticated")
