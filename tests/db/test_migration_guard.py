"""Migrations never go through a transaction pooler."""

import asyncio

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from db import migrate
from db.url import asyncpg_arguments
from tests.support import recreate_database

# Nothing listens here: the guard must refuse before it tries to connect.
POOLED = "postgresql://postgres.abcdefghijklmnopqrst:pw@127.0.0.1:6543/postgres"
REFUSAL = r"Refusing to migrate through a transaction pooler.*DATABASE_DIRECT_URL"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "DATABASE_DIRECT_URL", "DATABASE_POOL_MODE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.usefixtures("clean_environment")
def test_upgrade_refuses_port_6543() -> None:
    with pytest.raises(SystemExit, match=REFUSAL):
        migrate.upgrade(POOLED)


def test_upgrade_refuses_database_url_in_transaction_pool_mode(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:6432/quire")
    clean_environment.setenv("DATABASE_POOL_MODE", "transaction")
    with pytest.raises(SystemExit, match=REFUSAL):
        command.upgrade(migrate.alembic_config(), "head")


async def revision_of(url: str) -> str | None:
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    return revision


async def test_upgrade_uses_database_direct_url_when_set(
    clean_environment: pytest.MonkeyPatch, direct_url: str
) -> None:
    """An empty database at DATABASE_DIRECT_URL ends at head; the pooled URL is never used."""
    target = await recreate_database(direct_url, "migration_guard")
    clean_environment.setenv("DATABASE_URL", POOLED)
    clean_environment.setenv("DATABASE_POOL_MODE", "transaction")
    clean_environment.setenv("DATABASE_DIRECT_URL", target)
    await asyncio.to_thread(command.upgrade, migrate.alembic_config(), "head")
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    assert await revision_of(target) == head


@pytest.mark.usefixtures("clean_environment")
def test_unparseable_url_is_a_clear_exit() -> None:
    with pytest.raises(SystemExit, match="unsupported parameters: sslcert"):
        migrate.upgrade("postgresql://postgres@127.0.0.1:5432/quire?sslcert=/client.crt")
