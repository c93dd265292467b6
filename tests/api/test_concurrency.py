"""Races the API must win: each request has its own session and really commits."""

import asyncio
import uuid

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import bearer, make_token

CONCURRENCY = 20


async def register(engine: AsyncEngine, count: int = 1) -> list[tuple[uuid.UUID, str]]:
    accounts = [(uuid.uuid4(), f"racer-{uuid.uuid4().hex[:8]}@example.com") for _ in range(count)]
    async with engine.begin() as connection:
        for account_id, email in accounts:
            await connection.execute(
                text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
                {"id": account_id, "email": email},
            )
    return accounts


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def test_concurrent_first_requests_create_one_user(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    [(account_id, email)] = await register(engine)
    headers = bearer(make_token(account_id, email))
    responses = await asyncio.gather(
        *(live_client.get("/api/v1/users/me", headers=headers) for _ in range(CONCURRENCY))
    )
    assert {r.status_code for r in responses} == {200}
    rows = await scalar(engine, "SELECT count(*) FROM users WHERE id = :id", id=account_id)
    assert rows == 1


async def test_same_new_tag_from_concurrent_posts_is_one_row(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    authors = await register(engine, CONCURRENCY)
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/posts",
                json={"title": f"Post {n}", "content": "c", "tags": ["Brand New Tag"]},
                headers=bearer(make_token(account_id, email)),
            )
            for n, (account_id, email) in enumerate(authors)
        )
    )
    assert [r.status_code for r in responses] == [201] * CONCURRENCY, responses[0].text
    assert (
        await scalar(engine, "SELECT count(*) FROM tags WHERE lower(name) = 'brand new tag'") == 1
    )
    assert await scalar(engine, "SELECT count(*) FROM post_tags") == CONCURRENCY


async def test_concurrent_posts_with_one_title_get_distinct_slugs(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    [(account_id, email)] = await register(engine)
    headers = bearer(make_token(account_id, email))
    await live_client.get("/api/v1/users/me", headers=headers)
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/posts", json={"title": "Same Title", "content": "c"}, headers=headers
            )
            for _ in range(CONCURRENCY)
        )
    )
    assert [r.status_code for r in responses] == [201] * CONCURRENCY
    slugs = {r.json()["slug"] for r in responses}
    assert len(slugs) == CONCURRENCY
    assert "same-title" in slugs
    assert all(slug.startswith("same-title") for slug in slugs)


async def test_concurrent_reads_each_borrow_one_connection_and_return_it(
    live_client: AsyncClient, app: FastAPI
) -> None:
    """Lists, rankings and /health read on connections borrowed without a session; more
    requests than the pool holds wait their turn, and every connection comes back."""
    paths = ["/api/v1/posts", "/api/v1/tags", "/api/v1/authors/top", "/health"]
    pool = app.state.engine.sync_engine.pool
    responses = await asyncio.gather(
        *(live_client.get(paths[i % len(paths)]) for i in range(pool.size() * 3))
    )
    assert {response.status_code for response in responses} == {200}
    assert pool.checkedout() == 0
