"""The command line behind `make token`, `make admin` and `make migrate`."""

import argparse
import asyncio

import jwt
import pytest
from sqlalchemy import text

from api import cli
from api.settings import DatabaseSettings, Settings, SupabaseSettings
from db import migrate
from db.engine import create_engine
from tests.support import TEST_JWT_SECRET, recreate_database


@pytest.fixture(scope="module")
async def cli_database(direct_url: str) -> str:
    url = await recreate_database(direct_url, "quire_cli")
    await asyncio.to_thread(migrate.upgrade, url)
    return url


def settings_for(database_url: str, project_url: str | None = None) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url), supabase=SupabaseSettings(url=project_url)
    )


async def fetch(url: str, sql: str, **params: object) -> object:
    engine = create_engine(url, use_pool=False)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def run(command: str, settings: Settings, *args: str) -> None:
    parsed = cli.parser().parse_args([command, *args])
    await asyncio.to_thread(parsed.run, settings, parsed)


async def test_token_registers_the_account_and_prints_a_valid_token(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run("token", settings_for(cli_database), "cli@example.com")
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["email"] == "cli@example.com"
    assert claims["role"] == "authenticated"
    stored = await fetch(
        cli_database, "SELECT email FROM auth.users WHERE id = :id", id=claims["sub"]
    )
    assert stored == "cli@example.com"
    await run("token", settings_for(cli_database), "CLI@example.com")
    again = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert again["sub"] == claims["sub"]


async def test_token_carries_the_issuer_when_a_project_is_configured(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(cli_database, "https://abc.supabase.co")
    await run("token", settings, "issuer@example.com")
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["iss"] == "https://abc.supabase.co/auth/v1"


async def test_admin_promotes_the_user(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run("admin", settings_for(cli_database), "chief@example.com")
    assert "now an admin" in capsys.readouterr().out
    role = await fetch(cli_database, "SELECT role FROM users WHERE email = 'chief@example.com'")
    assert role == "admin"


async def test_token_refuses_to_register_accounts_on_supabase(direct_url: str) -> None:
    url = await recreate_database(direct_url, "quire_cli_supabase")
    engine = create_engine(url, use_pool=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SCHEMA auth"))
        await connection.execute(
            text("CREATE TABLE auth.users (instance_id uuid, id uuid PRIMARY KEY, email text)")
        )
    await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, url)
    with pytest.raises(SystemExit, match="Supabase Auth"):
        await run("token", settings_for(url), "nobody@example.com")


async def test_migrations_refuse_a_transaction_pool_mode_without_a_direct_url() -> None:
    settings = Settings(
        database=DatabaseSettings(
            url="postgresql://u:p@pooler.example.com:5432/db", pool_mode="transaction"
        )
    )
    with pytest.raises(SystemExit, match="DATABASE_DIRECT_URL"):
        cli.database_url(settings, for_migrations=True)


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        Settings.model_validate(
            {"app": {"environment": "production"}, "supabase": {"jwt_secret": "s" * 40}}
        )


def test_the_parser_knows_every_make_target() -> None:
    commands = cli.parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert isinstance(commands, dict)
    assert {"dev", "serve", "db", "db-stop", "psql", "migrate", "downgrade", "revision",
            "check", "token", "admin"} <= set(commands)  # fmt: skip
    assert isinstance(cli.parser().parse_args(["migrate"]), argparse.Namespace)
