"""The OpenAPI document describes every route, its parameters, bodies and errors."""

import re
from typing import Any

from fastapi import FastAPI

EXPECTED_OPERATIONS = {
    ("get", "/health"),
    ("get", "/api/v1/users/me"),
    ("patch", "/api/v1/users/me"),
    ("put", "/api/v1/users/me/profile"),
    ("put", "/api/v1/users/me/avatar"),
    ("get", "/api/v1/users/me/posts"),
    ("get", "/api/v1/users/{user_id}"),
    ("post", "/api/v1/posts"),
    ("get", "/api/v1/posts"),
    ("get", "/api/v1/posts/{slug}"),
    ("patch", "/api/v1/posts/{slug}"),
    ("delete", "/api/v1/posts/{slug}"),
    ("get", "/api/v1/tags"),
    ("get", "/api/v1/authors/top"),
    ("get", "/api/v1/admin/users"),
    ("patch", "/api/v1/admin/users/{user_id}"),
    ("post", "/api/v1/admin/users/deactivate-inactive"),
}
AUTHENTICATED = {op for op in EXPECTED_OPERATIONS if "/me" in op[1] or "/admin" in op[1]} | {
    ("post", "/api/v1/posts"),
    ("patch", "/api/v1/posts/{slug}"),
    ("delete", "/api/v1/posts/{slug}"),
}


def operations(app: FastAPI) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }


async def test_every_route_is_documented(app: FastAPI) -> None:
    documented = operations(app)
    assert documented.keys() >= EXPECTED_OPERATIONS
    for key, operation in documented.items():
        assert operation.get("summary"), key
        assert operation.get("description"), key
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, key


async def test_errors_are_documented_as_problems(app: FastAPI) -> None:
    for key, operation in operations(app).items():
        if key == ("get", "/health"):
            continue
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                assert "application/problem+json" in response["content"], (key, code)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (key, code)
        assert "422" in operation["responses"], key


async def test_authenticated_routes_declare_the_sign_in_errors_and_the_bearer_scheme(
    app: FastAPI,
) -> None:
    documented = operations(app)
    for key in AUTHENTICATED | {("get", "/api/v1/posts/{slug}")}:
        assert {"401", "403", "409", "503"} <= documented[key]["responses"].keys(), key
    for key in AUTHENTICATED:
        assert documented[key].get("security") == [{"HTTPBearer": []}], key


async def test_routes_with_a_body_declare_the_body_errors(app: FastAPI) -> None:
    """Any body can be too large for the limit (413) or of a media type the route does not
    read (415)."""
    with_a_body = {key: op for key, op in operations(app).items() if "requestBody" in op}
    assert len(with_a_body) == 7
    for key, operation in with_a_body.items():
        assert {"413", "415"} <= operation["responses"].keys(), key


async def test_routes_that_read_the_database_declare_its_absence(app: FastAPI) -> None:
    """A database out of reach is a 503 problem (tests/faults), on every route that reads it:
    all but the local avatar files."""
    for key, operation in operations(app).items():
        if key[1] != "/media/avatars/{user_id}/{name}":
            assert "503" in operation["responses"], key


async def test_routes_without_a_token_declare_no_sign_in_errors(app: FastAPI) -> None:
    documented = operations(app)
    for key in {("get", "/api/v1/posts"), ("get", "/api/v1/tags"), ("get", "/api/v1/authors/top")}:
        assert not {"401", "403"} & documented[key]["responses"].keys(), key


async def test_post_schema_names_every_field(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert set(schemas["PostPublic"]["properties"]) == {
        "id", "slug", "title", "content", "published", "published_at",
        "created_at", "updated_at", "author", "tags",
    }  # fmt: skip
    assert set(schemas["PostsPage"]["required"]) == {"items", "next_cursor"}
    assert "email" not in schemas["UserPublic"]["properties"]


async def test_created_post_has_201_and_delete_204(app: FastAPI) -> None:
    documented = operations(app)
    assert "201" in documented[("post", "/api/v1/posts")]["responses"]
    assert "204" in documented[("delete", "/api/v1/posts/{slug}")]["responses"]
    limit = next(
        p for p in documented[("get", "/api/v1/posts")]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 100
    assert limit["schema"]["minimum"] == 1


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


async def test_every_pattern_reads_alike_in_javascript(app: FastAPI) -> None:
    """Clients compile the document's patterns as ECMA-262 regular expressions, where `\\U`
    and `\\x{…}` mean something else or nothing: only `\\uXXXX` escapes, for the BMP."""
    patterns = _patterns(app.openapi())
    assert patterns, "the document carries the models' patterns"
    unreadable = [p for p in patterns if re.search(r"\\U|\\x\{|\\u\{|[\U00010000-\U0010ffff]", p)]
    assert unreadable == []


async def test_local_avatars_declare_their_images_whole_and_in_part(app: FastAPI) -> None:
    """A `Range` request is answered 206 (tests/api/test_avatars.py), with the image's type."""
    responses = operations(app)[("get", "/media/avatars/{user_id}/{name}")]["responses"]
    for status in ("200", "206"):
        assert set(responses[status]["content"]) == {"image/png", "image/jpeg", "image/webp"}
