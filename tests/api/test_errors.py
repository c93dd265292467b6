"""Every error is problem+json, with the right status; nothing internal leaks."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import MAX_LISTED_ERRORS, RETRY_AFTER_SECONDS, install_error_handlers
from api.main import create_app
from api.middleware import MAX_OBJECT_KEYS, SECURITY_HEADERS
from db.embedded import free_port
from db.engine import create_engine, read_connection
from db.repositories.rows import CompiledQuery, fetch_on
from db.url import asyncpg_arguments
from tests.api.factories import create_post
from tests.conftest import Accounts, settings_for
from tests.support import run_sql

PROBLEM = "application/problem+json"
ERRORS_LOGGER = "quire.errors"
ALLOWED_ORIGIN = "https://app.example.com"  # the allow-list of tests.conftest.settings_for
MIB = 1024 * 1024  # the default body limit


async def test_unknown_route_is_a_404_problem(client: AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }


async def test_wrong_method_is_a_405_problem(client: AsyncClient) -> None:
    response = await client.put("/api/v1/posts")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "allow" in response.headers


async def test_validation_errors_name_each_field(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    response = await client.post(
        "/api/v1/posts", json={"title": "", "tags": ["x" * 60]}, headers=headers
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Unprocessable Content"
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"title", "content", "tags.0"}
    assert problem["error_count"] == 3


async def test_a_long_list_of_errors_is_cut_short_and_counted(
    client: AsyncClient, accounts: Accounts
) -> None:
    """900 unknown keys are 900 errors: the first few are listed, all are counted."""
    _, headers = await accounts.new()
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    unknown = {f"k{n}": 0 for n in range(900)}

    response = await client.patch(
        "/api/v1/users/me", json={"name": "Valid", **unknown}, headers=headers
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [
        f"k{n}" for n in range(MAX_LISTED_ERRORS)
    ]
    assert problem["error_count"] == len(unknown)
    assert len(response.content) < 10_000


async def test_an_object_with_too_many_keys_is_refused_before_validation(
    client: AsyncClient,
) -> None:
    """Refused as it is read, before the route (or the token) is even looked at."""
    body = {f"k{n}": 0 for n in range(MAX_OBJECT_KEYS + 1)}
    response = await client.patch("/api/v1/users/me", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [error["type"] for error in response.json()["errors"]] == ["json_keys"]
    nested = await client.post("/api/v1/posts", json={"title": "t", "extra": body})
    assert [error["type"] for error in nested.json()["errors"]] == ["json_keys"]


async def test_malformed_json_is_422(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    response = await client.post(
        "/api/v1/posts",
        content=b'{"title": ',
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_bodies_over_one_mebibyte_are_413(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    response = await client.post(
        "/api/v1/posts",
        json={"title": "Big", "content": "x" * (1024 * 1024 + 1)},
        headers=headers,
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def padded(body: bytes, spaces: int) -> AsyncIterator[bytes]:
    """`body` with `spaces` blanks before its closing brace, streamed in 64 KiB chunks (no
    Content-Length: only the bytes received can be counted)."""
    yield body[:-1]
    for start in range(0, spaces, 64 * 1024):
        yield b" " * min(64 * 1024, spaces - start)
    yield body[-1:]


async def test_a_streamed_body_over_the_cap_is_413_and_stores_nothing(
    client: AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    """A valid post, only padded: the route would store it if the whole body reached it."""
    _, headers = await accounts.new()
    response = await client.post(
        "/api/v1/posts",
        content=padded(b'{"title": "Padded", "content": "c"}', 2 * MIB),
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    stored = await run_sql(session, "SELECT count(*) FROM posts WHERE title = 'Padded'")
    assert stored.scalar_one() == 0


async def test_a_body_of_exactly_the_cap_is_accepted(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    head, tail = b'{"title": "Exact", "content": "c"', b"}"
    body = head + b" " * (MIB - len(head) - len(tail)) + tail
    response = await client.post(
        "/api/v1/posts", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_security_headers_are_set(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def deadlock(engine: AsyncEngine) -> DBAPIError:
    """Provoke a real deadlock between two transactions and return the loser's error."""
    keys = (uuid.uuid4(), uuid.uuid4())
    async with engine.begin() as setup:
        for key in keys:
            await setup.execute(
                text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
                {"id": key, "email": f"{key}@example.com"},
            )
    errors: list[DBAPIError] = []

    async def lock(
        first: uuid.UUID, second: uuid.UUID, ready: asyncio.Event, go: asyncio.Event
    ) -> None:
        update = text("UPDATE auth.users SET email = email WHERE id = :id")
        try:
            async with engine.begin() as connection:
                await connection.execute(update, {"id": first})
                ready.set()
                await go.wait()
                await connection.execute(update, {"id": second})
        except DBAPIError as error:
            errors.append(error)

    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    both = asyncio.Event()

    async def release() -> None:
        await ready_a.wait()
        await ready_b.wait()
        both.set()

    await asyncio.gather(
        lock(keys[0], keys[1], ready_a, both), lock(keys[1], keys[0], ready_b, both), release()
    )
    async with engine.begin() as cleanup:
        await cleanup.execute(
            text("DELETE FROM auth.users WHERE id = ANY(:ids)"), {"ids": list(keys)}
        )
    assert len(errors) == 1
    return errors[0]


async def test_a_deadlock_is_a_409_to_retry(engine: AsyncEngine) -> None:
    error = await deadlock(engine)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/collide")
    async def collide() -> None:
        raise error

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://quire.test") as c:
        response = await c.get("/collide")
    assert response.status_code == 409
    assert "retry" in response.json()["detail"]


async def serialization_failure(engine: AsyncEngine) -> DBAPIError:
    """Provoke a real serialization failure: a repeatable-read transaction updates a row that
    another changed and committed since its snapshot."""
    key = uuid.uuid4()
    insert = text("INSERT INTO auth.users (id, email) VALUES (:id, :email)")
    update = text("UPDATE auth.users SET email = :email WHERE id = :id")
    async with engine.begin() as setup:
        await setup.execute(insert, {"id": key, "email": f"{key}@example.com"})
    try:
        async with engine.connect() as late:
            await late.execution_options(isolation_level="REPEATABLE READ")
            async with late.begin():
                await late.execute(text("SELECT 1 FROM auth.users WHERE id = :id"), {"id": key})
                async with engine.begin() as early:
                    await early.execute(update, {"id": key, "email": f"early-{key}@example.com"})
                with pytest.raises(DBAPIError) as failed:
                    await late.execute(update, {"id": key, "email": f"late-{key}@example.com"})
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DELETE FROM auth.users WHERE id = :id"), {"id": key})
    assert getattr(failed.value.orig, "sqlstate", None) == "40001"
    return failed.value


async def test_a_serialization_failure_is_a_409_to_retry(engine: AsyncEngine) -> None:
    response = await answer_to(await serialization_failure(engine))
    assert response.status_code == 409
    assert "retry" in response.json()["detail"]


async def answer_to(error: BaseException) -> Response:
    """What the error handlers answer when a route raises `error`."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        raise error

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://quire.test") as c:
        return await c.get("/fail")


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


CONSTRAINED = """
CREATE TEMP TABLE constrained (
    id int PRIMARY KEY, n int NOT NULL CHECK (n > 0), parent int REFERENCES constrained (id)
)
"""


async def raised_by(engine: AsyncEngine, statement: str) -> DBAPIError:
    """The error a statement on a scratch table raises; the table goes with the rollback."""
    async with engine.connect() as connection:
        await connection.execute(text(CONSTRAINED))
        with pytest.raises(DBAPIError) as raised:
            await connection.execute(text(statement))
    return raised.value


@pytest.mark.parametrize(
    ("statement", "sqlstate", "status"),
    [
        ("INSERT INTO constrained VALUES (1, 1, NULL), (1, 2, NULL)", "23505", 409),
        ("INSERT INTO constrained VALUES (1, 1, 2)", "23503", 409),
        ("INSERT INTO constrained VALUES (1, 0, NULL)", "23514", 422),
        ("INSERT INTO constrained VALUES (1, NULL, NULL)", "23502", 422),
    ],
    ids=["unique", "foreign key", "check", "not null"],
)
async def test_integrity_errors_are_answered_by_their_sqlstate(
    engine: AsyncEngine, statement: str, sqlstate: str, status: int
) -> None:
    """A duplicate or a missing referent conflicts with other rows (409); a value a CHECK or
    NOT NULL refuses is wrong whatever the other rows hold (422)."""
    error = await raised_by(engine, statement)
    # SQLAlchemy makes each of them an IntegrityError: the SQLSTATE tells them apart.
    assert isinstance(error, IntegrityError)
    assert getattr(error.orig, "sqlstate", None) == sqlstate

    response = await answer_to(error)

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "shortage",
    [
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
        asyncpg.exceptions.OutOfMemoryError("out of memory"),
    ],
    ids=lambda shortage: shortage.sqlstate,
)
async def test_a_server_short_of_resources_is_a_503_to_retry(
    shortage: asyncpg.PostgresError,
) -> None:
    # Wrapped as db.repositories.rows wraps the driver's errors.
    response = await answer_to(DBAPIError("SELECT 1", (), shortage))

    assert_unavailable(response)


SLOW = CompiledQuery("SELECT pg_sleep(5)", ())
ONE = CompiledQuery("SELECT 1", ())


async def test_a_driver_misused_is_a_logged_500_and_a_connection_lost_a_503(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two reads at once on one connection: the second is refused (a bug: "another operation
    is in progress"), and refusing it closes the connection under the first."""
    connection = await asyncpg.connect(**asyncpg_arguments(database_url))
    lost: object
    misused: object
    try:
        lost, misused = await asyncio.gather(
            fetch_on(connection, SLOW, {}), fetch_on(connection, ONE, {}), return_exceptions=True
        )
    finally:
        connection.terminate()
    assert isinstance(lost, DBAPIError)
    assert isinstance(misused, DBAPIError)
    assert "another operation is in progress" in str(misused.orig)

    with caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER):
        assert_unavailable(await answer_to(lost))
        response = await answer_to(misused)

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert [r.levelno for r in caplog.records if r.exc_info] == [logging.ERROR]


async def test_a_connection_the_server_ended_is_a_503() -> None:
    """As a read on a connection lent after a shutdown's error but before its close fails."""
    broken = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )

    assert_unavailable(await answer_to(DBAPIError("SELECT 1", (), broken)))


async def test_a_read_on_a_closed_connection_is_a_503(database_url: str) -> None:
    connection = await asyncpg.connect(**asyncpg_arguments(database_url))
    connection.terminate()
    with pytest.raises(DBAPIError) as raised:
        await fetch_on(connection, ONE, {})

    assert_unavailable(await answer_to(raised.value))


@pytest.mark.parametrize("where", ["tcp", "unix socket"])
async def test_a_database_out_of_reach_is_a_503(
    database_url: str, tmp_path: Path, where: str
) -> None:
    """Nothing listening: the driver raises ConnectionRefusedError over TCP, and over a Unix
    socket FileNotFoundError, which must not pass for a missing file of the app's."""
    host = f"127.0.0.1:{free_port()}" if where == "tcp" else quote(str(tmp_path), safe="")
    engine = create_engine(f"postgresql://quire@{host}/quire")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/read")
    async def read() -> None:
        async with read_connection(engine):
            pass  # pragma: no cover

    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://q") as c:
            response = await c.get("/read")
    finally:
        await engine.dispose()

    assert_unavailable(response)


async def test_a_file_error_is_a_logged_500_not_a_database_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        (tmp_path / "missing").read_bytes()

    with caplog.at_level(logging.WARNING, logger=ERRORS_LOGGER):
        response = await answer_to(raised.value)

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert [r.levelno for r in caplog.records if r.exc_info] == [logging.ERROR]


async def test_head_is_answered_as_get_without_the_body(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "Headed")
    for path in ("/health", "/api/v1/posts", "/api/v1/tags"):
        got = await client.get(path)
        head = await client.head(path)

        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-length"] == str(len(got.content)), path
        assert head.headers["content-type"] == got.headers["content-type"], path
    missing = await client.head("/api/v1/posts/no-such-post")
    assert missing.status_code == 404
    assert missing.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_an_unexpected_error_reaches_a_browser_as_a_problem(
    database_url: str, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    """The catch-all 500 is sent from Starlette's outermost layer: it still carries the
    security headers, and CORS's, without which a browser shows scripts a CORS error instead."""
    app = create_app(settings_for(database_url))

    @app.get("/fail")
    async def fail() -> None:
        raise RuntimeError("a bug")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
        async with AsyncClient(transport=transport, base_url="http://quire.test") as c:
            response = await c.request(method, "/fail", headers={"Origin": ALLOWED_ORIGIN})

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name.decode()) == value.decode(), name
    if method == "HEAD":
        assert response.content == b""
    else:
        assert response.json()["detail"] == "An unexpected error occurred."
    assert [r.levelno for r in caplog.records if r.exc_info] == [logging.ERROR]
