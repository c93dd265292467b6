"""Row Level Security on every public table, with policies for Supabase's Data API roles

Supabase publishes every table in `public` to anyone holding the project's anon key, so each
table gets RLS and explicit policies for `anon` and `authenticated`. The API's own connection
owns the tables and is not subject to RLS (no FORCE), so Quire itself is unaffected.

Emails: PostgreSQL column privileges cannot depend on the row, so "my email, nobody else's"
is a row rule. `users` rows are therefore readable only by their own user (email included);
the public face of a person is `user_profiles`, readable by everyone. `users` also has no
write policy: `role` and `is_active` are changed through the API only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:00:00+00:00
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA_API_ROLES = ("anon", "authenticated", "service_role")
APP_TABLES = ("users", "user_profiles", "posts", "tags", "post_tags")
RLS_TABLES = (*APP_TABLES, "alembic_version")

# On plain PostgreSQL the roles Supabase's Data API switches to are created here, only when
# absent, with Supabase's attributes. As on Supabase, the migrating role becomes a member so
# it (and the tests) can SET ROLE to them.
ROLE_ATTRIBUTES = {
    "anon": "NOLOGIN NOINHERIT",
    "authenticated": "NOLOGIN NOINHERIT",
    "service_role": "NOLOGIN NOINHERIT BYPASSRLS",
}

CREATE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} {attributes};
        GRANT {role} TO CURRENT_USER;
    END IF;
END
$$
"""

# Supabase Auth's own definitions (they read what PostgREST sets per request). Created only
# when absent: `CREATE OR REPLACE` would overwrite a real Supabase's functions.
CREATE_AUTH_UID = """
DO $do$
BEGIN
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $fn$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
        GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    END IF;
END
$do$
"""

CREATE_AUTH_JWT = """
DO $do$
BEGIN
    IF to_regprocedure('auth.jwt()') IS NULL THEN
        CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $fn$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $fn$;
    END IF;
END
$do$
"""

# `(SELECT auth.uid())` is evaluated once per statement, not once per row.
CALLER = "(SELECT auth.uid())"


@dataclass(frozen=True)
class Policy:
    """One permissive policy per table, command and role, so none are ever ORed together."""

    table: str
    command: str
    role: str
    using: str | None = None
    check: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table}_{self.command.lower()}_{self.role}"

    def create(self) -> str:
        clauses = [f"CREATE POLICY {self.name} ON public.{self.table}"]
        clauses.append(f"FOR {self.command} TO {self.role}")
        if self.using is not None:
            clauses.append(f"USING ({self.using})")
        if self.check is not None:
            clauses.append(f"WITH CHECK ({self.check})")
        return " ".join(clauses)


# Writes also need an active account: a deactivated user keeps read access to their own data.
ACTIVE_CALLER = f"EXISTS (SELECT FROM public.users u WHERE u.id = {CALLER} AND u.is_active)"
PROFILE_OWNER = f"user_id = {CALLER}"
AUTHORED = f"author_id = {CALLER}"
# A link is visible exactly when its post is: the subquery runs under the posts policies.
VISIBLE_POST = "EXISTS (SELECT FROM public.posts p WHERE p.id = post_id)"
OWN_LINK = f"EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = {CALLER})"

POLICIES = (
    Policy("users", "SELECT", "authenticated", using=f"id = {CALLER}"),
    Policy("user_profiles", "SELECT", "anon", using="true"),
    Policy("user_profiles", "SELECT", "authenticated", using="true"),
    Policy(
        "user_profiles", "INSERT", "authenticated", check=f"{PROFILE_OWNER} AND {ACTIVE_CALLER}"
    ),
    Policy(
        "user_profiles",
        "UPDATE",
        "authenticated",
        using=PROFILE_OWNER,
        check=f"{PROFILE_OWNER} AND {ACTIVE_CALLER}",
    ),
    Policy("user_profiles", "DELETE", "authenticated", using=PROFILE_OWNER),
    Policy("posts", "SELECT", "anon", using="is_published"),
    Policy("posts", "SELECT", "authenticated", using=f"is_published OR {AUTHORED}"),
    Policy("posts", "INSERT", "authenticated", check=f"{AUTHORED} AND {ACTIVE_CALLER}"),
    Policy(
        "posts",
        "UPDATE",
        "authenticated",
        using=AUTHORED,
        check=f"{AUTHORED} AND {ACTIVE_CALLER}",
    ),
    Policy("posts", "DELETE", "authenticated", using=AUTHORED),
    Policy("tags", "SELECT", "anon", using="true"),
    Policy("tags", "SELECT", "authenticated", using="true"),
    Policy("post_tags", "SELECT", "anon", using=VISIBLE_POST),
    Policy("post_tags", "SELECT", "authenticated", using=VISIBLE_POST),
    Policy("post_tags", "INSERT", "authenticated", check=f"{OWN_LINK} AND {ACTIVE_CALLER}"),
    Policy("post_tags", "DELETE", "authenticated", using=OWN_LINK),
)

# Supabase grants ALL on new public tables to its roles; the policies above hold under those
# grants too, but the grants are narrowed to what the policies allow (no TRUNCATE, which RLS
# does not cover, and nothing at all on alembic_version).
GRANTS = (
    "GRANT SELECT ON public.user_profiles, public.posts, public.tags, public.post_tags TO anon",
    "GRANT SELECT ON public.users, public.user_profiles, public.posts, public.tags, "
    "public.post_tags TO authenticated",
    "GRANT INSERT, UPDATE, DELETE ON public.user_profiles, public.posts TO authenticated",
    "GRANT INSERT, DELETE ON public.post_tags TO authenticated",
    "GRANT ALL ON public.users, public.user_profiles, public.posts, public.tags, "
    "public.post_tags TO service_role",
)


def revoke_all() -> None:
    for table in RLS_TABLES:
        op.execute(f"REVOKE ALL ON public.{table} FROM {', '.join(DATA_API_ROLES)}")


def upgrade() -> None:
    for role, attributes in ROLE_ATTRIBUTES.items():
        op.execute(CREATE_ROLE.format(role=role, attributes=attributes))
    op.execute(CREATE_AUTH_UID)
    op.execute(CREATE_AUTH_JWT)
    revoke_all()
    for grant in GRANTS:
        op.execute(grant)
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY")
    for policy in POLICIES:
        op.execute(policy.create())


def downgrade() -> None:
    for policy in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS {policy.name} ON public.{policy.table}")
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE public.{table} DISABLE ROW LEVEL SECURITY")
    # Without RLS the broad grants Supabase gives by default would expose every row, emails
    # included: the downgrade leaves the Data API roles with no access to these tables.
    revoke_all()
    # The roles and auth.uid()/auth.jwt() stay: on Supabase they were never ours, and on a
    # plain PostgreSQL roles are cluster-wide and may serve other databases.
