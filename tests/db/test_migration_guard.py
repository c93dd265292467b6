"""Migrations never go through a transaction pooler."""

import pytest
from alembic import command

from db import migrate

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


def test_upgrade_uses_database_direct_url_when_set(
    clean_environment: pytest.MonkeyPatch, database_url: str, direct_url: str
) -> None:
    clean_environment.setenv("DATABASE_URL", POOLED)
    clean_environment.setenv("DATABASE_POOL_MODE", "transaction")
    clean_environment.setenv("DATABASE_DIRECT_URL", direct_url)
    command.upgrade(migrate.alembic_config(), "head")


@pytest.mark.usefixtures("clean_environment")
def test_unparseable_url_is_a_clear_exit() -> None:
    with pytest.raises(SystemExit, match="unsupported parameters: sslcert"):
        migrate.upgrade("postgresql://postgres@127.0.0.1:5432/quire?sslcert=/client.crt")
