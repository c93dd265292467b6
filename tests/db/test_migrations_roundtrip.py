"""Every migration goes up and down on a database holding rows, and its SQL passes squawk.

The history is walked from Alembic's script directory, so new revisions are covered as they
are added. A revision's downgrade must restore exactly the schema the previous revision built
(columns, indexes, constraints, triggers, functions, policies, grants on tables, columns and
functions, RLS flags, storage options).
"""

import asyncio
import shutil
import subprocess  # nosec B404 - runs squawk with fixed arguments
import sys
from pathlib import Path

import asyncpg
import pytest
from alembic.script import Script, ScriptDirectory

from db import migrate
from db.supabase_export import export
from db.url import asyncpg_arguments
from tests.support import recreate_database

ROOT = Path(__file__).resolve().parents[2]
SQUAWK_CONFIG = ROOT / ".squawk.toml"
DATABASE = "migrations_roundtrip"  # its side database: tests.support.side_database_name
BASE = "base"
# Schemas Quire's migrations touch; both are compared before and after each step.
SCHEMAS = ["public", "auth"]

Fingerprint = dict[str, list[tuple[object, ...]]]

SCHEMA_QUERIES = {
    "columns": """
        SELECT table_schema, table_name, column_name, data_type, character_maximum_length,
               is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = ANY($1::text[])""",
    "indexes": "SELECT schemaname, indexdef FROM pg_indexes WHERE schemaname = ANY($1::text[])",
    "constraints": """
        SELECT n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY($1::text[])""",
    "triggers": """
        SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = ANY($1::text[])""",
    "functions": """
        SELECT n.nspname, p.proname, md5(pg_get_functiondef(p.oid)) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1::text[])""",
    "policies": """
        SELECT schemaname, tablename, policyname, cmd, roles::text[], qual, with_check
        FROM pg_policies WHERE schemaname = ANY($1::text[])""",
    "row_security": """
        SELECT n.nspname, r.relname, r.relrowsecurity, r.relforcerowsecurity FROM pg_class r
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE r.relkind = 'r' AND n.nspname = ANY($1::text[])""",
    "grants": """
        SELECT table_schema, table_name, grantee, privilege_type
        FROM information_schema.role_table_grants WHERE table_schema = ANY($1::text[])""",
    # Privileges as granted, not access lists: a list made explicit by a GRANT and a REVOKE
    # grants what the default did.
    "column_grants": """
        SELECT n.nspname, r.relname, a.attname, g.grantee::regrole::text, g.privilege_type
        FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace, aclexplode(a.attacl) g
        WHERE a.attacl IS NOT NULL AND n.nspname = ANY($1::text[])""",
    "function_grants": """
        SELECT n.nspname, p.proname, g.grantee::regrole::text, g.privilege_type
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
             aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) g
        WHERE n.nspname = ANY($1::text[])""",
    "storage_options": """
        SELECT n.nspname, r.relname, r.reloptions FROM pg_class r
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE r.reloptions IS NOT NULL AND n.nspname = ANY($1::text[])""",
}

ACCOUNT = "11111111-1111-4111-8111-111111111111"
SEED = [
    f"INSERT INTO auth.users (id, email) VALUES ('{ACCOUNT}', 'seed@example.com')",
    f"INSERT INTO users (id, email, name) VALUES ('{ACCOUNT}', 'seed@example.com', 'Seed')",
    f"INSERT INTO user_profiles (user_id, bio) VALUES ('{ACCOUNT}', 'Seeded before a downgrade')",
    "INSERT INTO posts (author_id, slug, title, content, is_published, published_at) "
    f"VALUES ('{ACCOUNT}', 'seeded', 'Seeded', 'Rows survive the walk', true, now())",
    "INSERT INTO tags (name, slug) VALUES ('Seeded', 'seeded')",
    "INSERT INTO post_tags (post_id, tag_id) SELECT p.id, t.id FROM posts p, tags t",
]
PUBLIC_TABLES = """
SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'
"""


def history() -> list[Script]:
    """The revisions from the first to head; the walk below needs a linear history."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1, "the migrations have several heads: merge them"
    revisions = list(reversed(list(scripts.walk_revisions(BASE, "heads"))))
    assert all(not isinstance(s.down_revision, tuple | list) for s in revisions)
    return revisions


def previous(script: Script) -> str:
    return str(script.down_revision) if script.down_revision else BASE


async def fingerprint(url: str) -> Fingerprint:
    """The schema as sorted rows per kind of object, comparable between two states."""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        return {
            kind: sorted((tuple(row) for row in await connection.fetch(query, SCHEMAS)), key=repr)
            for kind, query in SCHEMA_QUERIES.items()
        }
    finally:
        await connection.close()


async def execute(url: str, *statements: str) -> list[str]:
    """Run `statements` in one transaction, then list the public tables left without rows."""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        async with connection.transaction():
            for statement in statements:
                await connection.execute(statement)
        empty = []
        for row in await connection.fetch(PUBLIC_TABLES):
            table = row["tablename"]
            if not await connection.fetchval(f'SELECT EXISTS (SELECT FROM public."{table}")'):
                empty.append(table)
        return sorted(empty)
    finally:
        await connection.close()


async def move(url: str, target: str, *, down: bool = False) -> Fingerprint:
    """Upgrade (or downgrade) to `target` in a worker thread; Alembic runs its own loop."""
    step = migrate.downgrade if down else migrate.upgrade
    await asyncio.to_thread(step, url, target)
    return await fingerprint(url)


@pytest.fixture
async def fresh_url(direct_url: str) -> str:
    return await recreate_database(direct_url, DATABASE)


async def test_every_migration_goes_down_and_up_again(fresh_url: str) -> None:
    revisions = history()
    # One full cycle first: afterwards the database is at base as on Supabase, where
    # auth.users and the Data API roles exist before any of our migrations.
    await move(fresh_url, "head")
    expected = {BASE: await move(fresh_url, BASE, down=True)}
    for script in revisions:
        expected[script.revision] = await move(fresh_url, script.revision)
    assert await execute(fresh_url, *SEED) == [], "seed a row in every table (SEED above)"

    for script in reversed(revisions):
        below = previous(script)
        assert await move(fresh_url, below, down=True) == expected[below], script.revision
        assert await move(fresh_url, script.revision) == expected[script.revision]
        await move(fresh_url, below, down=True)
    assert await move(fresh_url, "head") == expected[revisions[-1].revision]


def test_exported_sql_passes_squawk(tmp_path: Path) -> None:
    """Lint each revision's SQL as exported for the Supabase CLI (waivers: .squawk.toml)."""
    for migration in export():
        (tmp_path / migration.name).write_text(migration.sql)
    squawk = shutil.which("squawk", path=str(Path(sys.executable).parent)) or "squawk"
    command = [squawk, "--config", str(SQUAWK_CONFIG), "--reporter", "gcc"]
    linted = subprocess.run(  # noqa: S603  # nosec B603
        [*command, *map(str, sorted(tmp_path.glob("*.sql")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
