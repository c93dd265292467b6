"""Request bodies are validated by pydantic alone: a key, whatever its name, is a field or an
error, never an argument of the model's constructor."""

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.factories import POSTS, create_post
from tests.conftest import Accounts
from tests.security.conftest import set_user

# Names Python would bind to something else when a body's keys became keyword arguments.
CONSTRUCTOR_NAMES = ["cls", "self", "__pydantic_self__", "data"]


@pytest.mark.parametrize("key", CONSTRUCTOR_NAMES)
async def test_a_body_key_named_like_a_constructor_argument_is_an_unknown_field(
    client: AsyncClient, accounts: Accounts, session: AsyncSession, key: str
) -> None:
    user_id, headers = await accounts.new()
    other_id, other = await accounts.new()
    for signing_in in (headers, other):
        assert (await client.get("/api/v1/users/me", headers=signing_in)).status_code == 200
    await set_user(session, str(user_id), "role = 'admin'")
    post = await create_post(client, headers, "Standing")
    writes = [
        ("POST", POSTS, {"title": "T", "content": "C"}),
        ("PATCH", f"{POSTS}/{post['slug']}", {}),
        ("PATCH", "/api/v1/users/me", {"name": "N"}),
        ("PUT", "/api/v1/users/me/profile", {}),
        ("PATCH", f"/api/v1/admin/users/{other_id}", {}),
        ("POST", "/api/v1/admin/users/deactivate-inactive", {"days": 30}),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json={**body, key: 1}, headers=headers)

        assert response.status_code == 422, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["type"] for error in response.json()["errors"]] == ["extra_forbidden"]
