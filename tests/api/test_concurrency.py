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


async def test_reads_through_the_engine_see_what_requests_committed(
    live_client: AsyncClient, engine: AsyncEngine
) -> None:
    """The production read path (no session, a borrowed connection) on rows that exist."""
    (ada, ada_email), (bob, bob_email) = await register(engine, 2)
    for account_id, email, title, tags in (
        (ada, ada_email, "First", ["Rust", "Go"]),
        (ada, ada_email, "Second", ["Rust"]),
        (bob, bob_email, "Third", ["Go"]),
    ):
        body = {"title": title, "content": f"{title} words", "tags": tags, "published": True}
        created = await live_client.post(
            "/api/v1/posts", json=body, headers=bearer(make_token(account_id, email))
        )
        assert created.status_code == 201, created.text

    listed = (await live_client.get("/api/v1/posts", params={"limit": 2})).json()
    assert [post["title"] for post in listed["items"]] == ["Third", "Second"]
    rest = await live_client.get("/api/v1/posts", params={"cursor": listed["next_cursor"]})
    assert [post["title"] for post in rest.json()["items"]] == ["First"]
    tagged = (await live_client.get("/api/v1/posts", params={"tag": "rust"})).json()
    assert [post["title"] for post in tagged["items"]] == ["Second", "First"]
    found = (await live_client.get("/api/v1/posts", params={"q": "third"})).json()
    assert [post["author"]["id"] for post in found["items"]] == [str(bob)]
    tags = (await live_client.get("/api/v1/tags")).json()
    assert [(tag["slug"], tag["post_count"]) for tag in tags] == [("go", 2), ("rust", 2)]
    authors = (await live_client.get("/api/v1/authors/top")).json()
    assert [(author["id"], author["post_count"]) for author in authors] == [
        (str(ada), 2),
        (str(bob), 1),
    ]
