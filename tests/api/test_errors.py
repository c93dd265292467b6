"""Every error is problem+json, with the right status; nothing internal leaks."""

import asyncio
import uuid

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import install_error_handlers
from tests.conftest import Accounts

PROBLEM = "application/problem+json"


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
