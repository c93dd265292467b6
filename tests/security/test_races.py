"""Races on one post: concurrent requests, each in its own session, really committing.

The API's own races (one new tag from many posts, one title from many posts, many first
requests of one user) are in tests/api/test_concurrency.py.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import bearer, make_token

API = "/api/v1"
CONCURRENCY = 10
ROUNDS = 3


async def _author(client: AsyncClient, engine: AsyncEngine) -> dict[str, str]:
    account_id, email = uuid.uuid4(), f"racer-{uuid.uuid4().hex[:8]}@example.com"
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
            {"id": account_id, "email": email},
        )
    headers = bearer(make_token(account_id, email))
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    return headers


async def _post(client: AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Raced", "content": "c", **fields}
    response = await client.post(f"{API}/posts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


@pytest.fixture
async def author(live_client: AsyncClient, engine: AsyncEngine) -> dict[str, str]:
    return await _author(live_client, engine)


async def test_concurrent_tag_edits_leave_exactly_one_submitted_set(
    live_client: AsyncClient, engine: AsyncEngine, author: dict[str, str]
) -> None:
    # Disjoint sets of tags that already exist, so no request waits on another's new tag row.
    tag_sets = [[f"set{n}-{k}" for k in range(3)] for n in range(CONCURRENCY)]
    for first in range(0, CONCURRENCY, 3):
        await _post(live_client, author, tags=[t for s in tag_sets[first : first + 3] for t in s])
    post = await _post(live_client, author, tags=["before"])
    url = f"{API}/posts/{post['slug']}"

    for _ in range(ROUNDS):
        responses = await asyncio.gather(
            *(live_client.patch(url, json={"tags": tags}, headers=author) for tags in tag_sets)
        )
        assert [r.status_code for r in responses] == [200] * CONCURRENCY, responses[0].text
        current = await live_client.get(url, headers=author)
        final = {tag["name"] for tag in current.json()["tags"]}
        assert final in [set(tags) for tags in tag_sets], f"a mix of tag sets: {sorted(final)}"
        linked = await _rows(
            engine,
            "SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE pt.post_id = :id",
            id=uuid.UUID(post["id"]),
        )
        assert {name for (name,) in linked} == final


async def test_edits_racing_a_delete_get_404_and_leave_no_orphan_link(
    live_client: AsyncClient, engine: AsyncEngine, author: dict[str, str]
) -> None:
    post = await _post(live_client, author, tags=["kept"])
    url = f"{API}/posts/{post['slug']}"
    changes = [{"tags": [f"t{n}"]} for n in range(3)] + [{"title": f"T{n}"} for n in range(3)]
    edits = [live_client.patch(url, json=change, headers=author) for change in changes]
    responses = await asyncio.gather(*edits, live_client.delete(url, headers=author))
    assert {r.status_code for r in responses} <= {200, 204, 404}, [r.text for r in responses]
    assert responses[-1].status_code == 204
    orphans = await _rows(
        engine, "SELECT count(*) FROM post_tags WHERE post_id = :id", id=uuid.UUID(post["id"])
    )
    assert orphans == [(0,)]


def _stamps(responses: list[Response]) -> set[datetime]:
    """The non-null `published_at` values the responses reported."""
    values = (response.json()["published_at"] for response in responses)
    return {datetime.fromisoformat(value) for value in values if value is not None}


async def _published(engine: AsyncEngine, post: dict[str, Any]) -> tuple[bool, datetime | None]:
    [(published, published_at)] = await _rows(
        engine,
        "SELECT is_published, published_at FROM posts WHERE id = :id",
        id=uuid.UUID(post["id"]),
    )
    return published, published_at


async def test_concurrent_publish_and_unpublish_keep_published_at_consistent(
    live_client: AsyncClient, engine: AsyncEngine, author: dict[str, str]
) -> None:
    post = await _post(live_client, author, published=False)
    url = f"{API}/posts/{post['slug']}"
    for _ in range(ROUNDS):
        flips = [n % 2 == 0 for n in range(CONCURRENCY)]
        responses = await asyncio.gather(
            *(live_client.patch(url, json={"published": flip}, headers=author) for flip in flips)
        )
        assert [r.status_code for r in responses] == [200] * CONCURRENCY, responses[0].text
        for response in responses:
            assert response.json()["published_at"] is not None or not response.json()["published"]
        published, published_at = await _published(engine, post)
        assert published_at is not None, "it was published, so published_at is set"
        assert _stamps(responses) == {published_at}, "published_at changed after the first stamp"
        assert published == (await live_client.get(url, headers=author)).json()["published"]


async def test_concurrent_first_publishes_stamp_published_at_once(
    live_client: AsyncClient, engine: AsyncEngine, author: dict[str, str]
) -> None:
    post = await _post(live_client, author, published=False)
    url = f"{API}/posts/{post['slug']}"
    responses = await asyncio.gather(
        *(
            live_client.patch(url, json={"published": True}, headers=author)
            for _ in range(CONCURRENCY)
        )
    )
    assert [r.status_code for r in responses] == [200] * CONCURRENCY
    _, stored = await _published(engine, post)
    assert _stamps(responses) == {stored}, "published_at was stamped more than once"
    unpublished = await live_client.patch(url, json={"published": False}, headers=author)
    republished = await live_client.patch(url, json={"published": True}, headers=author)
    assert _stamps([unpublished, republished]) == {stored}


async def test_concurrent_writers_sharing_tags_neither_deadlock_nor_miscount(
    live_client: AsyncClient, engine: AsyncEngine, author: dict[str, str]
) -> None:
    """Posts created, published, unpublished and deleted at once, naming the same tags in
    different orders: every request succeeds and each tag's count is still exact."""
    names = [f"shared-{n}" for n in range(5)]
    existing = [await _post(live_client, author, tags=names, published=True) for _ in range(6)]
    orders = [names[n:] + names[:n] for n in range(len(names))]
    requests = [
        *(
            live_client.post(
                f"{API}/posts",
                json={"title": "T", "content": "c", "tags": order, "published": True},
                headers=author,
            )
            for order in orders
        ),
        *(live_client.delete(f"{API}/posts/{p['slug']}", headers=author) for p in existing[:2]),
        *(
            live_client.patch(f"{API}/posts/{p['slug']}", json=change, headers=author)
            for p, change in zip(
                existing[2:],
                [{"published": False}, {"tags": names[::-1]}, {"tags": names[:2]}, {"tags": []}],
                strict=True,
            )
        ),
    ]
    responses = await asyncio.gather(*requests)
    assert all(r.status_code in (200, 201, 204) for r in responses), [r.text for r in responses]
    shown = {t["name"]: t["post_count"] for t in (await live_client.get(f"{API}/tags")).json()}
    counted = await _rows(
        engine,
        "SELECT t.name, count(*) FROM tags t JOIN post_tags pt ON pt.tag_id = t.id "
        "JOIN posts p ON p.id = pt.post_id AND p.is_published GROUP BY t.name",
    )
    assert shown == dict(counted)
