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
    writes: list[tuple[str, str, dict[str, object]]] = [
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


@pytest.mark.parametrize(
    "text",
    [
        "\u200b",
        "\u00a0",
        "\ufeff",
        "\u3000 \u2003",
        "\u2060\u200d",
        "a\u2028b",
        "a\u2029b",
        "a\x85b",
    ],
    ids=["zero width", "no-break space", "BOM", "wide spaces", "joiners", "LS", "PS", "NEL"],
)
async def test_one_line_fields_refuse_blank_or_broken_text_of_any_script(
    client: AsyncClient, accounts: Accounts, text: str
) -> None:
    """A title, name or tag a reader cannot see, or that breaks the line, is refused like
    spaces and newlines are."""
    _, headers = await accounts.new()
    writes = [
        ("POST", POSTS, {"title": text, "content": "C"}),
        ("POST", POSTS, {"title": "T", "content": "C", "tags": [text]}),
        ("PATCH", "/api/v1/users/me", {"name": text}),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status_code == 422, (method, path, body, response.text)
        [error] = response.json()["errors"]
        assert error["message"].startswith("Should be one line with a visible character")
        assert error["type"] == "string_pattern_mismatch"


@pytest.mark.parametrize(
    ("path", "body", "field", "meaning"),
    [
        (POSTS, {"title": "T", "content": "a\u0000b"}, "content", "Should not contain the NUL"),
        ("/api/v1/users/me/profile", {"bio": "\u0000"}, "bio", "Should not contain the NUL"),
        ("/api/v1/users/me/profile", {"avatar_url": "ftp://x"}, "avatar_url", "Should be an http"),
    ],
    ids=["NUL in content", "NUL in a bio", "not an http URL"],
)
async def test_a_pattern_refused_is_explained_not_quoted(
    client: AsyncClient,
    accounts: Accounts,
    path: str,
    body: dict[str, str],
    field: str,
    meaning: str,
) -> None:
    """Clients read what the text must be, not the regular expression it failed."""
    _, headers = await accounts.new()
    method = "POST" if path == POSTS else "PUT"
    response = await client.request(method, path, json=body, headers=headers)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["type"]) == (field, "string_pattern_mismatch")
    assert error["message"].startswith(meaning)
    assert "pattern" not in error["message"]


async def test_one_line_fields_keep_text_that_has_something_to_see(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(
        client, headers, "Caf\u00e9\u00a0\u2615 \u65e5\u672c", tags=["x\u200dy"]
    )

    assert post["title"] == "Caf\u00e9\u00a0\u2615 \u65e5\u672c"
    assert [tag["name"] for tag in post["tags"]] == ["x\u200dy"]


PROFILE = "/api/v1/users/me/profile"


@pytest.mark.parametrize(
    "url",
    [
        "https://a\x85b",
        "https://x\xa0y",
        "http://a\u2028b",
        "https://paypal.com\u202e@evil",
        "https://\u200b",
        "https://cdn.example.com/a\u200bb.png",
        "https://cdn.example.com\ufeff/a.png",
        "https://a b",
        "https:///a.png",
        "https://:443/a.png",
        "https://user@/a.png",
    ],
    ids=[
        "C1 control",
        "no-break space",
        "line separator",
        "right-to-left override",
        "zero-width host",
        "zero-width space in the path",
        "BOM",
        "space",
        "no host",
        "a port without a host",
        "a user without a host",
    ],
)
async def test_an_avatar_url_hiding_characters_or_without_a_host_is_refused(
    client: AsyncClient, accounts: Accounts, url: str
) -> None:
    """What a reader sees of the URL is the whole URL, and it names a host."""
    _, headers = await accounts.new()

    response = await client.put(PROFILE, json={"avatar_url": url}, headers=headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["type"]) == ("avatar_url", "string_pattern_mismatch")
    assert error["message"].startswith("Should be an http:// or https:// URL with a host")


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/avatars/a.png",
        "http://127.0.0.1:8000/media/avatars/a.webp?v=2#top",
        "https://user@[2001:db8::1]:8443/a@2x.png",
        "https://b\u00fccher.example/\u65e5\u672c.png",
    ],
    ids=["https", "port, query and fragment", "user, IPv6 and an @ in the path", "IDN"],
)
async def test_an_avatar_url_with_a_visible_host_is_kept(
    client: AsyncClient, accounts: Accounts, url: str
) -> None:
    _, headers = await accounts.new()

    response = await client.put(PROFILE, json={"avatar_url": url}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["avatar_url"] == url


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "String should have at least 1 character"),
        ("a" * 201, "String should have at most 200"),
    ],
    ids=["empty", "too long"],
)
async def test_a_search_out_of_bounds_is_explained_as_text(
    client: AsyncClient, q: str, message: str
) -> None:
    """A search is a string: its bounds are told in characters, not in "items"."""
    response = await client.get(POSTS, params={"q": q})

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "q"
    assert error["message"].startswith(message)
