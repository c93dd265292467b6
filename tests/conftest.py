"""Test harness: a real PostgreSQL, migrated once by Alembic, a rolled-back transaction per test.

The database is a throwaway embedded PostgreSQL, or `TEST_DATABASE_URL` when set (with
`TEST_DATABASE_DIRECT_URL` for migrations when that URL is a transaction pooler).
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from api.settings import AppSettings, DatabaseSettings, Settings
from db import migrate
from db.embedded import EmbeddedPostgres, free_port
from db.engine import create_engine
from tests.support import (
    StatementLog,
    bearer,
    create_account,
    logging_statements,
    make_token,
    override_session,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that need a transaction pooler unless the run goes through one."""
    if os.environ.get("DATABASE_POOL_MODE") == "transaction":
        return
    pooled = [item for item in items if item.get_closest_marker("pooler")]
    if pooled:
        config.hook.pytest_deselected(items=pooled)
        items[:] = [item for item in items if not item.get_closest_marker("pooler")]


APP_TABLES = "users, user_profiles, posts, tags, post_tags"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server's maintenance database URL (embedded unless TEST_DATABASE_URL)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    workdir = Path(tempfile.mkdtemp(prefix="quire-test-"))
    server = EmbeddedPostgres(workdir / "pgdata", free_port())
    server.start()
    server.create_database("quire_test")
    try:
        yield server.url("quire_test")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def direct_url(server_url: str) -> str:
    """Where migrations and DDL go: never through a transaction pooler."""
    return os.environ.get("TEST_DATABASE_DIRECT_URL", server_url)


@pytest.fixture(scope="session")
def database_url(server_url: str, direct_url: str) -> str:
    migrate.upgrade(direct_url)
    return server_url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_mode=_pool_mode())
    yield engine
    await engine.dispose()


def _pool_mode() -> Any:
    return os.environ.get("DATABASE_POOL_MODE") or None


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


def test_settings(database_url: str) -> Settings:
    return Settings(
        app=AppSettings(environment="test", cors_origins=["https://app.example.com"]),
        database=DatabaseSettings(url=database_url, pool_mode=_pool_mode()),
    )


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(test_settings(database_url))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI, session: AsyncSession) -> AsyncIterator[AsyncClient]:
    """The app over ASGI, its session dependency bound to the test's transaction."""
    override_session(app, session)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://quire.test") as c:
        yield c
    app.dependency_overrides.clear()


@pytest.fixture
async def live_client(app: FastAPI, engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    """The app with its own sessions and real commits, for concurrency; cleaned afterwards."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://quire.test") as c:
        yield c
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {APP_TABLES}, auth.users CASCADE"))


class Accounts:
    """Signs people up in auth.users and hands out their tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def new(self, email: str | None = None) -> tuple[uuid.UUID, dict[str, str]]:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        account_id = await create_account(self.session, email)
        # Commit releases the test's savepoint, so a later request's rollback keeps the account.
        await self.session.commit()
        return account_id, bearer(make_token(account_id, email))


@pytest.fixture
def accounts(session: AsyncSession) -> Accounts:
    return Accounts(session)


@pytest.fixture
async def count_statements(
    engine: AsyncEngine, session: AsyncSession
) -> AsyncIterator[StatementLog]:
    """Every SQL statement run during the test, transaction control aside."""
    assert isinstance(session.bind, AsyncConnection)
    async with logging_statements(engine, session.bind) as log:
        yield log
