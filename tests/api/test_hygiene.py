"""Hygiene: CORS from an allow-list, security headers, capped bodies, secrets kept out of logs."""

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import PROBLEM_MEDIA_TYPE
from api.main import create_app
from api.settings import AppSettings, DatabaseSettings, Settings, SupabaseSettings
from db.embedded import free_port
from db.url import parse_database_url
from tests.conftest import APP_TABLES, Accounts
from tests.support import bearer, make_token, run_sql

POSTS = "/api/v1/posts"
MIB = 1024 * 1024
ALLOWED_ORIGIN = "https://app.example.com"  # the allow-list of tests.conftest.settings_for
OTHER_ORIGIN = "https://evil.example.net"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
SERVER_START_SECONDS = 30.0
POLL_SECONDS = 0.05


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_an_allowed_origin_gets_cors_headers(client: AsyncClient) -> None:
    response = await client.get("/api/v1/tags", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    answer = await client.options(POSTS, headers=preflight(ALLOWED_ORIGIN))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


async def test_another_origin_gets_no_cors_headers(client: AsyncClient) -> None:
    response = await client.get("/api/v1/tags", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    answer = await client.options(POSTS, headers=preflight(OTHER_ORIGIN))
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("origin", "requested", "refused"),
    [
        (OTHER_ORIGIN, "authorization", "the origin may not call this API from a browser"),
        (ALLOWED_ORIGIN, "x-forwarded-for", "a requested header is not allowed"),
    ],
    ids=["origin", "header"],
)
async def test_a_refused_preflight_is_a_problem(
    client: AsyncClient, origin: str, requested: str, refused: str
) -> None:
    """Like every other 4xx, not Starlette's text/plain "Disallowed CORS origin"."""
    headers = {**preflight(origin), "Access-Control-Request-Headers": requested}

    answer = await client.options(POSTS, headers=headers)

    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = answer.json()
    assert (problem["status"], problem["title"]) == (400, "Bad Request")
    assert problem["detail"] == f"The CORS preflight request is refused: {refused}."
    assert "origin" in answer.headers["vary"].lower()
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, name


async def test_browsers_may_read_the_headers_the_api_documents(
    client: AsyncClient, accounts: Accounts
) -> None:
    """Location (201), WWW-Authenticate (401), Retry-After (503) and Allow (405) are not among
    the headers a browser shows scripts unless told to."""
    _, headers = await accounts.new()
    cors = {"Origin": ALLOWED_ORIGIN}
    post = {"title": "Exposed", "content": "c"}
    responses = {
        "location": await client.post(POSTS, json=post, headers={**headers, **cors}),
        "www-authenticate": await client.post(POSTS, json=post, headers=cors),
        "allow": await client.delete(POSTS, headers=cors),
    }
    for header, response in responses.items():
        assert header in response.headers, (header, response.status_code)
        exposed = response.headers["access-control-expose-headers"].lower().split(", ")
        assert sorted(exposed) == ["allow", "location", "retry-after", "www-authenticate"]


@pytest.mark.parametrize("listed", [True, False], ids=["empty", "unset"])
async def test_no_origin_is_allowed_unless_the_list_names_it(listed: bool) -> None:
    """QUIRE_CORS_ORIGINS empty or unset: no browser origin may read the API's answers."""
    settings = (
        AppSettings(environment="test", cors_origins=[])
        if listed
        else AppSettings(environment="test")
    )
    app = create_app(Settings(app=settings))
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://quire.test") as client:
        response = await client.get("/openapi.json", headers={"Origin": ALLOWED_ORIGIN})
        answer = await client.options(POSTS, headers=preflight(ALLOWED_ORIGIN))
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/v1/posts", 200),
        ("GET", "/api/v1/no-such-thing", 404),
        ("POST", POSTS, 401),
        ("GET", "/api/v1/posts?limit=0", 422),
        ("DELETE", "/health", 405),
        ("HEAD", "/health", 200),
        ("HEAD", "/api/v1/no-such-thing", 404),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


async def count_posts(session: AsyncSession) -> int:
    result = await run_sql(session, "SELECT count(*) FROM posts")
    return int(result.scalar_one())


async def test_a_declared_body_over_one_mebibyte_is_413(
    client: AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    _, headers = await accounts.new()
    before = await count_posts(session)
    body = b'{"title": "Big", "content": "' + b"x" * MIB + b'"}'
    response = await client.post(
        POSTS, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert await count_posts(session) == before


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A JSON body streamed in pieces, so the request is chunked with no Content-Length."""
    yield b'{"title": "Streamed", "content": "'
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)
    yield b'", "published": true}'


async def test_a_chunked_body_over_one_mebibyte_is_413(
    client: AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    _, headers = await accounts.new()
    before = await count_posts(session)
    response = await client.post(
        POSTS, content=chunks(MIB), headers={**headers, "content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert await count_posts(session) == before


@pytest.mark.parametrize(
    ("lengths", "status"),
    [([str(2 * MIB)], 413), (["13", "14"], 400)],
    ids=["over the cap", "conflicting lengths"],
)
async def test_what_the_body_cap_refuses_carries_security_and_cors_headers(
    client: AsyncClient, accounts: Accounts, lengths: list[str], status: int
) -> None:
    """The cap answers before the app: its answers are decorated all the same."""
    _, headers = await accounts.new()
    sent = [
        *headers.items(),
        ("Origin", ALLOWED_ORIGIN),
        ("Content-Type", "application/json"),
        *(("Content-Length", length) for length in lengths),
    ]

    response = await client.post(POSTS, content=b'{"title": "t"}', headers=sent)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


async def test_a_chunked_body_under_the_cap_is_served(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    response = await client.post(
        POSTS, content=chunks(1000), headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


# Values set in the settings below and looked for in every log record and response.
JWT_SECRET = f"jwt-secret-{secrets.token_hex(16)}"
SERVICE_ROLE_KEY = f"service-role-{secrets.token_hex(16)}"
DATABASE_PASSWORD = f"db-password-{secrets.token_hex(16)}"


def secret_settings(database_url: str) -> Settings:
    return Settings(
        app=AppSettings(environment="test"),
        database=DatabaseSettings(url=database_url),
        supabase=SupabaseSettings(
            url=None, jwt_secret=SecretStr(JWT_SECRET), service_role_key=SecretStr(SERVICE_ROLE_KEY)
        ),
    )


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app under a real uvicorn server whose loggers propagate to the test's capture."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="debug", access_log=True
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await started(server, task)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def started(server: uvicorn.Server, task: "asyncio.Task[None]") -> None:
    for _ in range(int(SERVER_START_SECONDS / POLL_SECONDS)):
        if server.started:
            return
        if task.done():
            await task
            break
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError("uvicorn did not start")


async def sign_up(engine: AsyncEngine, email: str) -> uuid.UUID:
    account_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
            {"id": account_id, "email": email},
        )
    return account_id


async def exercise(client: httpx.AsyncClient, engine: AsyncEngine) -> list[httpx.Response]:
    """Good and failing requests: bad tokens, a unique violation, invalid input."""
    ada = await sign_up(engine, "ada@example.com")
    twin = await sign_up(engine, "twin@example.com")
    good = bearer(make_token(ada, "ada@example.com", secret=JWT_SECRET))
    tokens = [
        make_token(ada, "ada@example.com", secret=f"not-the-secret-{secrets.token_hex(16)}"),
        make_token(ada, "ada@example.com", secret=JWT_SECRET, expires_in=-3600),
        make_token(uuid.uuid4(), "ghost@example.com", secret=JWT_SECRET),
        make_token(twin, "ada@example.com", secret=JWT_SECRET),
        "not.a.token",
        JWT_SECRET,
    ]
    post = {"title": "Hygiene", "content": "x", "tags": ["t"], "published": True}
    responses = [
        await client.get("/health"),
        await client.get("/api/v1/users/me", headers=good),
        await client.post(POSTS, json=post, headers=good),
        await client.post(POSTS, json={"title": ""}, headers=good),
        await client.get(POSTS, params={"cursor": "tampered"}),
        await client.get("/api/v1/users/not-a-uuid"),
    ]
    for token in tokens:
        responses.append(await client.get("/api/v1/users/me", headers=bearer(token)))
    return responses


async def exercise_without_database(client: httpx.AsyncClient) -> list[httpx.Response]:
    token = bearer(make_token(uuid.uuid4(), "down@example.com", secret=JWT_SECRET))
    return [
        await client.get("/health"),
        await client.get(POSTS),
        await client.post(POSTS, json={"title": "t", "content": "c"}, headers=token),
    ]


@pytest.fixture
async def cleanup(engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {APP_TABLES}, auth.users CASCADE"))


@pytest.mark.usefixtures("cleanup")
async def test_secrets_never_reach_logs_or_responses(
    database_url: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "uvicorn", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    unreachable = f"postgresql://quire:{DATABASE_PASSWORD}@127.0.0.1:{free_port()}/quire"

    async with served(create_app(secret_settings(database_url))) as client:
        responses = await exercise(client, engine)
    async with served(create_app(secret_settings(unreachable))) as client:
        responses += await exercise_without_database(client)

    statuses = sorted({response.status_code for response in responses})
    assert statuses == [200, 201, 401, 409, 422, 503]
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records)
    assert any(record.name.startswith("uvicorn") for record in caplog.records)
    secret_values = [JWT_SECRET, SERVICE_ROLE_KEY, DATABASE_PASSWORD]
    if password := parse_database_url(database_url).url.password:
        secret_values.append(password)
    answered = "\n".join(f"{r.headers}\n{r.text}" for r in responses)
    for value in secret_values:
        assert value not in caplog.text
        assert value not in answered


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def test_preflights_allow_every_method_the_api_uses(client: AsyncClient, method: str) -> None:
    """A browser app edits posts and its user with PATCH, its profile with PUT, and deletes
    with DELETE; a HEAD with a token is preflighted too: each preflight is allowed, and cached
    for ten minutes."""
    headers = {**preflight(ALLOWED_ORIGIN), "Access-Control-Request-Method": method}
    answer = await client.options(f"{POSTS}/a-post", headers=headers)
    assert answer.status_code == 200, answer.text
    assert method in answer.headers["access-control-allow-methods"].split(", ")
    assert answer.headers["access-control-max-age"] == "600"
