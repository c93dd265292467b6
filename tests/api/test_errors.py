"""Every error is problem+json, with the right status; nothing internal leaks."""

from httpx import AsyncClient

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
