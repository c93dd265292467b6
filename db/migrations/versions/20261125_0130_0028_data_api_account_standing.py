"""The Data API refuses writes from an account Supabase Auth has banned or soft-deleted

The API refuses such an account within a minute (0012), but Row Level Security only asked
whether the caller's Quire account was active: a banned user's access token, valid until it
expires (an hour by default), could still write posts, links and a profile through the Data
API. Every write policy now asks `public.caller_may_write()`: an active account whose Supabase
Auth account is neither banned nor deleted. The function reads `auth.users`, which Data API
roles may not, so it is SECURITY DEFINER; only `authenticated` may call it, and it says only
whether the caller may write.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-25 01:30:00+00:00
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLER = "(SELECT auth.uid())"
CALLER_MAY_WRITE = """
    CREATE FUNCTION public.caller_may_write() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
        SELECT EXISTS (
            SELECT FROM public.users u JOIN auth.users a ON a.id = u.id
            WHERE u.id = (SELECT auth.uid())
              AND u.is_active
              AND a.deleted_at IS NULL
              AND (a.banned_until IS NULL OR a.banned_until <= now())
        )
    $$
"""
# Evaluated once per statement, not per row, as a subquery.
MAY_WRITE = "(SELECT public.caller_may_write())"
ACTIVE_CALLER = f"EXISTS (SELECT FROM public.users u WHERE u.id = {CALLER} AND u.is_active)"
PROFILE_OWNER = f"user_id = {CALLER}"
AUTHORED = f"author_id = {CALLER}"
OWN_LINK = f"EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = {CALLER})"


@dataclass(frozen=True)
class WritePolicy:
    """A write policy of 0002 or 0010: `owned` is its owner's condition, joined to the
    caller's standing in WITH CHECK for inserts and updates, in USING for deletes."""

    table: str
    command: str
    owned: str

    def alter(self, standing: str) -> str:
        clause = "USING" if self.command == "DELETE" else "WITH CHECK"
        return (
            f"ALTER POLICY {self.table}_{self.command.lower()}_authenticated "
            f"ON public.{self.table} {clause} ({self.owned} AND {standing})"
        )


WRITE_POLICIES = (
    WritePolicy("user_profiles", "INSERT", PROFILE_OWNER),
    WritePolicy("user_profiles", "UPDATE", PROFILE_OWNER),
    WritePolicy("user_profiles", "DELETE", PROFILE_OWNER),
    WritePolicy("posts", "INSERT", AUTHORED),
    WritePolicy("posts", "UPDATE", AUTHORED),
    WritePolicy("posts", "DELETE", AUTHORED),
    WritePolicy("post_tags", "INSERT", OWN_LINK),
    WritePolicy("post_tags", "DELETE", OWN_LINK),
)


def upgrade() -> None:
    op.execute(CALLER_MAY_WRITE)
    # Supabase grants EXECUTE on new functions to its Data API roles by default.
    op.execute("REVOKE EXECUTE ON FUNCTION public.caller_may_write() FROM PUBLIC, anon")
    op.execute("GRANT EXECUTE ON FUNCTION public.caller_may_write() TO authenticated")
    for policy in WRITE_POLICIES:
        op.execute(policy.alter(MAY_WRITE))


def downgrade() -> None:
    for policy in WRITE_POLICIES:
        op.execute(policy.alter(ACTIVE_CALLER))
    op.execute("DROP FUNCTION public.caller_may_write()")
