"""The supabase/ project and the Alembic history cannot drift apart.

The exported migrations are up to date and build, on a fresh database, exactly the schema
`alembic upgrade head` builds; the seed applies on top of them; and a database that also
holds Supabase's own schemas migrates and `alembic check`s cleanly without its objects
being touched.
"""

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from db import migrate, supabase_export
from db.embedded import BIN_DIR
from db.url import asyncpg_arguments, parse_database_url
from tests.support import recreate_database

SUPABASE_DIR = Path(__file__).resolve().parents[2] / "supabase"
SEED = (SUPABASE_DIR / "seed.sql").read_text()

# Stand-ins for what a Supabase project holds before Quire's first migration: its managed
# schemas with a table or function in each, Supabase Auth's tables (only the columns the seed
# writes and Quire reads) and its own auth.uid()/auth.jwt(), which the migrations must leave
# alone.
SUPABASE_STAND_IN = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (
    instance_id uuid, id uuid PRIMARY KEY, aud varchar(255), role varchar(255),
    email varchar(255), encrypted_password varchar(255), email_confirmed_at timestamptz,
    raw_app_meta_data jsonb, raw_user_meta_data jsonb, created_at timestamptz,
    updated_at timestamptz, confirmation_token varchar(255), recovery_token varchar(255),
    email_change varchar(255), email_change_token_new varchar(255),
    banned_until timestamptz, deleted_at timestamptz, is_anonymous boolean NOT NULL DEFAULT false
);
CREATE TABLE auth.identities (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    provider_id text NOT NULL, provider text NOT NULL, identity_data jsonb NOT NULL,
    last_sign_in_at timestamptz, created_at timestamptz, updated_at timestamptz,
    email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
    CONSTRAINT identities_provider_id_provider_unique UNIQUE (provider_id, provider)
);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
COMMENT ON FUNCTION auth.uid() IS 'Supabase Auth''s own';
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb $$;
COMMENT ON FUNCTION auth.jwt() IS 'Supabase Auth''s own';
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean);
CREATE TABLE storage.objects (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets,
    name text, owner uuid REFERENCES auth.users (id), metadata jsonb
);
CREATE INDEX bucketid_objname ON storage.objects (bucket_id, name);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
CREATE SCHEMA realtime;
CREATE TABLE realtime.messages (
    id bigserial, topic text NOT NULL, extension text NOT NULL, payload jsonb,
    inserted_at timestamp NOT NULL DEFAULT now(), PRIMARY KEY (id, inserted_at)
);
CREATE TABLE realtime.schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp);
CREATE SCHEMA extensions;
CREATE EXTENSION pg_trgm SCHEMA extensions;
CREATE FUNCTION extensions.gen_salt(text) RETURNS text LANGUAGE sql AS $$ SELECT 'salt' $$;
CREATE FUNCTION extensions.crypt(text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT md5($1 || $2) $$;
CREATE SCHEMA graphql;
CREATE TABLE graphql.schema_version (version int PRIMARY KEY);
CREATE SCHEMA graphql_public;
CREATE FUNCTION graphql_public.graphql(query text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT '{}'::jsonb $$;
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (id uuid PRIMARY KEY, name text UNIQUE, secret text NOT NULL);
CREATE SCHEMA supabase_functions;
CREATE TABLE supabase_functions.hooks (id bigserial PRIMARY KEY, hook_name text NOT NULL);
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (
    version text PRIMARY KEY, statements text[], name text
);
CREATE SCHEMA net;
CREATE TABLE net.http_request_queue (id bigserial PRIMARY KEY, method text, url text);
CREATE SCHEMA cron;
CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, schedule text, command text);
CREATE SCHEMA pgbouncer;
CREATE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE (username text, password text)
    LANGUAGE sql AS $$ SELECT NULL::text, NULL::text $$;
CREATE SCHEMA pgsodium;
CREATE TABLE pgsodium.key (id uuid PRIMARY KEY, name text);
"""


async def execute(url: str, sql: str) -> None:
    """Run a multi-statement script in one transaction."""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        async with connection.transaction():
            await connection.execute(sql)
    finally:
        await connection.close()


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def schema_dump(url: str, *options: str) -> str:
    """`pg_dump --schema-only`, without the lines that differ between any two dumps."""
    target = parse_database_url(url).url
    process = await asyncio.create_subprocess_exec(
        str(BIN_DIR / "pg_dump"), "--schema-only",
        "-h", str(target.host), "-p", str(target.port),
        "-U", str(target.username), "-d", str(target.database), *options,
        env={**os.environ, "PGPASSWORD": target.password or ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    return "\n".join(
        line for line in lines if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))
    )


@pytest.fixture(scope="module")
async def alembic_schema(direct_url: str) -> str:
    url = await recreate_database(direct_url, "export_alembic")
    await asyncio.to_thread(migrate.upgrade, url)
    return await schema_dump(url)


def migration_head() -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    return head


def committed_migrations() -> list[supabase_export.ExportedMigration]:
    paths = sorted((SUPABASE_DIR / "migrations").glob("*.sql"))
    return [supabase_export.ExportedMigration(path.name, path.read_text()) for path in paths]


def test_committed_migrations_are_the_current_alembic_history() -> None:
    """Run `make supabase-migrations` and commit supabase/migrations if this fails."""
    assert committed_migrations() == supabase_export.export()


def test_a_revision_file_not_named_after_its_revision_is_refused() -> None:
    """`<day>_<time>_<slug>.py`, its revision left out, would export under a wrong name."""
    script = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(migration_head())
    assert script is not None
    day, time, _, slug = Path(script.path).name.split("_", 3)
    script.path = str(Path(script.path).with_name(f"{day}_{time}_{slug}"))
    with pytest.raises(supabase_export.ExportError, match="is not named"):
        supabase_export.file_name(script)


def test_writing_removes_stale_exports_only(tmp_path: Path) -> None:
    """A team's own migrations beside the exported ones (no export header) are kept."""
    migrations = committed_migrations()
    own = tmp_path / "20990101000000_own_policies.sql"
    own.write_text("CREATE POLICY own ON posts FOR SELECT USING (true);\n")
    stale = tmp_path / "20200101000000_renamed_since.sql"
    stale.write_text(f"{supabase_export.HEADER}-- Alembic revision 0000: renamed since\n")
    (tmp_path / migrations[0].name).write_text(f"{supabase_export.HEADER}-- an older export\n")
    assert supabase_export.write(migrations, tmp_path) == [stale.name]
    assert own.read_text() == "CREATE POLICY own ON posts FOR SELECT USING (true);\n"
    written = [
        supabase_export.ExportedMigration(m.name, (tmp_path / m.name).read_text())
        for m in migrations
    ]
    assert written == migrations
    assert len(list(tmp_path.glob("*.sql"))) == len(migrations) + 1


@pytest.mark.parametrize("source", ["committed files", "fresh export"])
async def test_exported_sql_builds_the_schema_alembic_builds(
    source: str, direct_url: str, alembic_schema: str
) -> None:
    migrations = committed_migrations() if source == "committed files" else supabase_export.export()
    url = await recreate_database(direct_url, "export_sql")
    for migration in migrations:
        await execute(url, migration.sql)
    assert await schema_dump(url) == alembic_schema
    versions = await fetch(url, "SELECT version_num FROM alembic_version")
    assert [row["version_num"] for row in versions] == [migration_head()]
    await asyncio.to_thread(migrate.check, url)


async def test_the_seed_applies_on_top_of_the_migrations_twice(direct_url: str) -> None:
    url = await recreate_database(direct_url, "export_seed")
    await asyncio.to_thread(migrate.upgrade, url)
    await execute(url, SEED)
    await execute(url, SEED)
    counts = await fetch(
        url,
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts, "
        "(SELECT count(*) FROM posts WHERE NOT is_published) AS drafts, "
        "(SELECT count(*) FROM post_tags) AS links",
    )
    assert dict(counts[0]) == {"users": 2, "posts": 3, "drafts": 1, "links": 4}


@dataclass(frozen=True)
class SupabaseLike:
    url: str
    managed_before: str


# Supabase's `postgres`, which migrates, is no superuser: it may read and reference Supabase
# Auth's tables, but not create anything in their schema.
MIGRATOR = "quire_supabase_migrator"
MIGRATOR_PASSWORD = "quire-supabase-migrator"  # a throwaway role on a throwaway server
MIGRATOR_GRANTS = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{MIGRATOR}') THEN
        CREATE ROLE {MIGRATOR} LOGIN PASSWORD '{MIGRATOR_PASSWORD}';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    EXECUTE format('GRANT CREATE ON DATABASE %I TO {MIGRATOR}', current_database());
END
$$;
GRANT anon, authenticated, service_role TO {MIGRATOR};
GRANT ALL ON SCHEMA public TO {MIGRATOR};
GRANT USAGE ON SCHEMA auth TO {MIGRATOR};
GRANT ALL ON ALL TABLES IN SCHEMA auth TO {MIGRATOR};
"""


def as_migrator(url: str) -> str:
    target = parse_database_url(url).url
    migrator = target.set(drivername="postgresql", username=MIGRATOR, password=MIGRATOR_PASSWORD)
    return migrator.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def supabase_like(direct_url: str) -> SupabaseLike:
    """A database holding Supabase's own schemas, migrated to head as Supabase's `postgres`."""
    url = await recreate_database(direct_url, "supabase_like")
    await execute(url, SUPABASE_STAND_IN + MIGRATOR_GRANTS)
    managed_before = await schema_dump(url, "--exclude-schema=public")
    await asyncio.to_thread(migrate.upgrade, as_migrator(url))
    return SupabaseLike(url, managed_before)


async def test_the_migrating_role_may_not_create_in_supabase_schemas(
    supabase_like: SupabaseLike,
) -> None:
    """What makes the test above Supabase-like: `CREATE … IF NOT EXISTS` would fail."""
    rows = await fetch(
        supabase_like.url,
        f"SELECT rolsuper, has_schema_privilege('{MIGRATOR}', 'auth', 'CREATE') AS creates "
        f"FROM pg_catalog.pg_roles WHERE rolname = '{MIGRATOR}'",
    )
    assert [tuple(row) for row in rows] == [(False, False)]


async def test_alembic_check_is_clean_beside_supabase_schemas(supabase_like: SupabaseLike) -> None:
    await asyncio.to_thread(migrate.check, as_migrator(supabase_like.url))


async def test_migrations_leave_everything_outside_public_alone(
    supabase_like: SupabaseLike,
) -> None:
    """Supabase's tables, and its own auth.uid() and auth.jwt(), exactly as they were."""
    after = await schema_dump(supabase_like.url, "--exclude-schema=public")
    assert after == supabase_like.managed_before
    assert "Supabase Auth''s own" in after


async def test_the_seed_creates_accounts_supabase_auth_can_sign_in(
    supabase_like: SupabaseLike,
) -> None:
    await execute(supabase_like.url, SEED)
    accounts = await fetch(
        supabase_like.url,
        "SELECT u.email, u.aud, u.encrypted_password IS NOT NULL AS has_password, "
        "i.provider, i.email AS identity_email FROM auth.users u "
        "JOIN auth.identities i ON i.user_id = u.id ORDER BY u.email",
    )
    assert [tuple(row) for row in accounts] == [
        ("ada@example.com", "authenticated", True, "email", "ada@example.com"),
        ("grace@example.com", "authenticated", True, "email", "grace@example.com"),
    ]
