"""Helpers the tests share: databases, tokens, accounts."""

import asyncio
import hashlib
import re
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import asyncpg
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import issue_token
from api.deps import get_reader, get_session
from api.main import create_app
from api.settings import LOCAL_JWT_SECRET, Settings
from db.repositories.rows import Reader
from db.url import asyncpg_arguments, parse_database_url

TEST_JWT_SECRET = LOCAL_JWT_SECRET


# PostgreSQL keeps the first 63 bytes of a longer name (NAMEDATALEN - 1).
MAX_NAME_BYTES = 63


def is_test_database(name: str) -> bool:
    """Whether `name` has `test` (or `tests`) as a word: the suite only empties such a database."""
    return re.search(r"(^|[_-])tests?($|[_-])", name.lower()) is not None


def side_database_name(url: str, suffix: str) -> str:
    """The name of side database `suffix` of the test database at `url`: `<its name>_<suffix>`.

    Named after the test database, so that two suites sharing a server (CI jobs on one
    PostgreSQL service, two worktrees) never create, drop or cut off each other's databases.
    It keeps the test database's `test` word. A name over PostgreSQL's limit becomes
    `test_<hash of the test database's name>_<suffix>`: as distinct, and short enough.
    """
    test_database = parse_database_url(url).url.database or ""
    name = f"{test_database}_{suffix}"
    if len(name.encode()) > MAX_NAME_BYTES:
        digest = hashlib.sha256(test_database.encode()).hexdigest()[:16]
        name = f"test_{digest}_{suffix}"
    if len(name.encode()) > MAX_NAME_BYTES or not is_test_database(name):
        raise ValueError(f"no side database {suffix!r} for the test database {test_database!r}")
    return name


async def recreate_database(url: str, suffix: str, *, locale: str | None = None) -> str:
    """Drop and create side database `suffix` of the test database at `url`; return its URL.

    Its name comes from `side_database_name`. `locale` sets its collation and character
    classes (from `template0`, as PostgreSQL requires for a locale other than the template's).
    """
    name = side_database_name(url, suffix)
    options = f" TEMPLATE template0 LOCALE '{locale}'" if locale else ""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"{options}')
    finally:
        await connection.close()
    return parse_database_url(url).with_database(name)


async def create_missing_database(url: str) -> None:
    """Create the database `url` names when its server has none by that name."""
    try:
        connection = await asyncpg.connect(**asyncpg_arguments(url))
    except asyncpg.InvalidCatalogNameError:
        parsed = parse_database_url(url)
        server = await asyncpg.connect(**asyncpg_arguments(parsed.with_database("postgres")))
        try:
            await server.execute(f'CREATE DATABASE "{parsed.url.database}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # created meanwhile, by a suite started beside this one
        finally:
            await server.close()
    else:
        await connection.close()


async def drop_database(url: str, suffix: str) -> None:
    """Drop side database `suffix` of the test database at `url`."""
    name = side_database_name(url, suffix)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def run_sql(session: AsyncSession, sql: str, **params: Any) -> CursorResult[*tuple[Any, ...]]:
    """Run `sql`, its `:name` parameters bound to `params`, on the session's connection."""
    connection = await session.connection()
    return await connection.execute(text(sql), params)


async def column(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    """The first column of what `sql` returns."""
    return list((await run_sql(session, sql, **params)).scalars())


def make_token(
    sub: uuid.UUID | str,
    email: str | None = "reader@example.com",
    *,
    secret: str = TEST_JWT_SECRET,
    **options: Any,
) -> str:
    return issue_token(sub, email, secret=secret, **options)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_account(session: AsyncSession, email: str) -> uuid.UUID:
    """Register an account in `auth.users`, as Supabase Auth's sign-up would."""
    account_id = uuid.uuid4()
    await run_sql(
        session,
        "INSERT INTO auth.users (id, email) VALUES (:id, :email)",
        id=account_id,
        email=email,
    )
    return account_id


def override_session(app: FastAPI, session: AsyncSession) -> None:
    """Bind the app's session and reader dependencies to the test's transaction, committing
    per request the way the real session does (a commit releases the test's savepoint)."""

    async def session_in_test_transaction() -> AsyncIterator[AsyncSession]:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            session.expunge_all()

    async def reader_in_test_transaction() -> Reader:
        return session

    app.dependency_overrides[get_session] = session_in_test_transaction
    app.dependency_overrides[get_reader] = reader_in_test_transaction


@asynccontextmanager
async def serve_app(
    settings: Settings, session: AsyncSession, base_url: str = "http://quire.test"
) -> AsyncIterator[AsyncClient]:
    """A fresh app built from `settings`, its session bound to the test's transaction."""
    app = create_app(settings)
    override_session(app, session)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1, the base of every stand-in for an external service.

    Subclasses set their state, then call `super().__init__(handler)`.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class StatementLog:
    """The statements run on one connection, with their parameters, transaction control aside.

    SQLAlchemy reports the statements it prepares through its events; asyncpg's query logger
    reports the rest: the reads that `db.repositories.rows` runs on asyncpg itself, and
    SQLAlchemy's executemany.
    """

    ran: list[tuple[str, Sequence[Any]]] = field(default_factory=list)

    async def settled(self) -> list[tuple[str, Sequence[Any]]]:
        # asyncpg calls its query loggers soon after a query returns, not before.
        await asyncio.sleep(0)
        return self.ran

    async def statements(self) -> list[str]:
        return [sql for sql, _ in await self.settled()]

    async def clear(self) -> None:
        (await self.settled()).clear()

    def _record(
        self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not executemany:
            self._add(sql, parameters)

    def _record_driver(self, query: asyncpg.connection.LoggedQuery) -> None:
        self._add(query.query, query.args)

    def _add(self, sql: str, parameters: Sequence[Any]) -> None:
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.ran.append((sql, parameters))


@asynccontextmanager
async def logging_statements(
    engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[StatementLog]:
    """Log what runs on `connection` (and, through SQLAlchemy, on the engine) in the block."""
    log = StatementLog()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    event.listen(engine.sync_engine, "before_cursor_execute", log._record)
    driver.add_query_logger(log._record_driver)
    try:
        yield log
    finally:
        driver.remove_query_logger(log._record_driver)
        event.remove(engine.sync_engine, "before_cursor_execute", log._record)
