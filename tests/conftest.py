"""Test harness: a real PostgreSQL, migrated once by Alembic, a rolled-back transaction per test.

The database is a throwaway embedded PostgreSQL, or `TEST_DATABASE_URL` when set (with
`TEST_DATABASE_DIRECT_URL` for migrations when that URL is a transaction pooler, and
`TEST_DATABASE_POOL_MODE=transaction` when the tests go through one). Such a database's name
must have `test` as a word: the suite creates it when missing, empties it, and drops and
creates databases beside it named after it (`<its name>_cli`, `<its name>_seed`, ...; see
`support.side_database_name`).

The developer's configuration never reaches a test: `.env` and the variables the settings read
(`DATABASE_*`, `SUPABASE_*`, `QUIRE_*`) are switched off below, before any test module loads.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic_settings import BaseSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

import api.settings
from api.main import create_app
from api.settings import AppSettings, DatabaseSettings, Settings
from db import migrate
from db.embedded import EmbeddedPostgres, free_port
from db.engine import create_engine
from db.url import DatabaseUrlError, PoolMode, parse_database_url
from tests.support import (
    StatementLog,
    bearer,
    create_account,
    create_missing_database,
    is_test_database,
    logging_statements,
    make_token,
    override_session,
)

# Set by scripts/test-pooler.sh when the suite runs through PgBouncer in transaction mode.
POOL_MODE: PoolMode | None = (
    "transaction" if os.environ.get("TEST_DATABASE_POOL_MODE") == "transaction" else None
)


def ignore_the_developer_configuration() -> None:
    """Keep `.env` and exported settings (a production SUPABASE_URL, say) out of every test.

    Each settings class reads `.env` in the working directory and its prefixed variables
    whenever it is built, also through `Settings`' default factories: a developer's project
    settings would turn every test token into a 401 and load a real service-role key into the
    test app. Tests pass the settings they mean instead.
    """
    for settings_class in settings_classes():
        # pydantic-settings looks `env_file` up in `model_config` each time it builds one.
        settings_class.model_config["env_file"] = None
    for variable in settings_variables(list(os.environ)):
        del os.environ[variable]


def settings_variables(variables: Iterable[str]) -> list[str]:
    """Those of `variables` that a settings class reads: the harness's own must not be."""
    prefixes: list[str] = []
    names: set[str] = set()
    for settings_class in settings_classes():
        if prefix := settings_class.model_config.get("env_prefix", "").upper():
            prefixes.append(prefix)
        else:  # `Settings` itself: a JSON value in APP, DATABASE or SUPABASE
            names.update(name.upper() for name in settings_class.model_fields)
    return [
        variable
        for variable in variables
        if variable.upper().startswith(tuple(prefixes)) or variable.upper() in names
    ]


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class of the app, so that a new one is covered without a change here."""
    return [
        value
        for value in vars(api.settings).values()
        if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings
    ]


ignore_the_developer_configuration()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that need a transaction pooler unless the run goes through one."""
    if POOL_MODE:
        return
    pooled = [item for item in items if item.get_closest_marker("pooler")]
    if pooled:
        config.hook.pytest_deselected(items=pooled)
        items[:] = [item for item in items if not item.get_closest_marker("pooler")]


APP_TABLES = "users, user_profiles, posts, tags, post_tags"


def expendable(variable: str) -> str | None:
    """The database URL in `variable`, refused unless the database's name says it is for tests."""
    url = os.environ.get(variable)
    if not url:
        return None
    try:
        name = parse_database_url(url).url.database or ""
    except DatabaseUrlError as error:
        pytest.exit(f"{variable}: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
    if not is_test_database(name):
        pytest.exit(
            f"{variable} names the database {name!r}: refusing to run the tests on it. The "
            "suite empties its tables and drops and recreates databases named after it on the "
            f"same server ({name}_cli, {name}_seed, ...): point it at a database whose name "
            "has 'test' as a word, such as quire_test.",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    return url


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server's maintenance database URL (embedded unless TEST_DATABASE_URL)."""
    if url := expendable("TEST_DATABASE_URL"):
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
    url = expendable("TEST_DATABASE_DIRECT_URL") or server_url
    asyncio.run(create_missing_database(url))
    return url


@pytest.fixture(scope="session")
def database_url(server_url: str, direct_url: str) -> str:
    migrate.upgrade(direct_url)
    return server_url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_mode=POOL_MODE)
    yield engine
    await engine.dispose()


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


def settings_for(database_url: str) -> Settings:
    return Settings(
        app=AppSettings(environment="test", cors_origins=["https://app.example.com"]),
        database=DatabaseSettings(url=database_url, pool_mode=POOL_MODE),
    )


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(settings_for(database_url))
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

    async def new(
        self, email: str | None = None, *, name: str | None = None
    ) -> tuple[uuid.UUID, dict[str, str]]:
        """An account, and a token for it; `name` is the one it gave Supabase Auth."""
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        account_id = await create_account(self.session, email)
        # Commit releases the test's savepoint, so a later request's rollback keeps the account.
        await self.session.commit()
        metadata = {"full_name": name} if name else {}
        return account_id, bearer(make_token(account_id, email, user_metadata=metadata))


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
