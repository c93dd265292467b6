"""Hostile input: every request below is refused with a 4xx problem, never a 500, and the
database is left exactly as it was. SQL-looking text, which is legitimate content, is stored
and searched as the plain text it is."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from httpx import AsyncClient, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.conftest import Accounts
from tests.security.conftest import set_user, snapshot

API = "/api/v1"
HUGE = "x" * 100_000
# A URL may carry at most 64 KiB (httpx refuses more; servers refuse far less).
HUGE_QUERY = "x" * 60_000
SQL_LOOKING = [
    "'; DROP TABLE posts; --",
    "' OR '1'='1",
    "1; SELECT pg_sleep(10)",
    "%' OR name LIKE '%",
    "\\'; DELETE FROM users WHERE ''='",
    "$$; TRUNCATE tags; $$",
    "Robert'); DROP TABLE users;--",
]
MALFORMED_CURSORS = [
    "",
    "!!!",
    "not base64 at all",
    "AAAA",
    "eyJhbGciOiJub25lIn0",
    "A" * 513,
    "%00",
    "W10",  # base64 of "[]" with no signature
]


@dataclass
class Setup:
    owner: dict[str, str]
    admin: dict[str, str]
    owner_id: str
    slug: str


@pytest.fixture
async def setup(client: AsyncClient, accounts: Accounts, session: AsyncSession) -> Setup:
    owner_id, owner = await accounts.new("owner@example.com")
    admin_id, admin = await accounts.new("admin@example.com")
    for headers in (owner, admin):
        assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    await set_user(session, str(admin_id), "role = 'admin'")
    body = {"title": "Standing post", "content": "Text.", "tags": ["Kept"], "published": True}
    created = await client.post(f"{API}/posts", json=body, headers=owner)
    assert created.status_code == 201, created.text
    return Setup(owner=owner, admin=admin, owner_id=str(owner_id), slug=created.json()["slug"])


def _nested(depth: int) -> bytes:
    return b'{"title": ' + b"[" * depth + b"]" * depth + b"}"


@dataclass(frozen=True)
class Hostile:
    """A request with a hostile part, and who sends it."""

    name: str
    method: str
    path: str
    as_admin: bool = False
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    params: Any = None

    async def send(self, client: AsyncClient, setup: Setup) -> Response:
        headers = dict(setup.admin if self.as_admin else setup.owner)
        if self.content_type:
            headers["Content-Type"] = self.content_type
        return await client.request(
            self.method,
            self.path.format(slug=setup.slug, owner=setup.owner_id),
            json=self.json,
            content=self.content,
            params=self.params,
            headers=headers,
        )


def _body(
    name: str, method: str, path: str, raw: bytes, content_type: str, *, as_admin: bool = False
) -> Hostile:
    return Hostile(name, method, path, as_admin, content=raw, content_type=content_type)


POSTS = f"{API}/posts"
POST = f"{API}/posts/{{slug}}"
ME = f"{API}/users/me"
PROFILE = f"{API}/users/me/profile"
ADMIN_USER = f"{API}/admin/users/{{owner}}"
DEACTIVATE = f"{API}/admin/users/deactivate-inactive"

HOSTILE = [
    # NUL bytes: PostgreSQL text cannot hold them; they must never reach it.
    Hostile("NUL in a title", "POST", POSTS, json={"title": "a\x00b", "content": "c"}),
    Hostile("NUL in content", "PATCH", POST, json={"content": "a\x00b"}),
    Hostile("NUL in a tag", "PATCH", POST, json={"tags": ["ok", "a\x00"]}),
    Hostile("NUL in a name", "PATCH", ME, json={"name": "\x00"}),
    Hostile("NUL in a bio", "PUT", PROFILE, json={"bio": "a\x00"}),
    Hostile("NUL in an avatar URL", "PUT", PROFILE, json={"avatar_url": "https://a\x00.b"}),
    Hostile("NUL in a search", "GET", POSTS, params={"q": "a\x00b"}),
    Hostile("NUL in a tag filter", "GET", POSTS, params={"tag": ["a\x00"]}),
    Hostile("NUL in a slug", "GET", f"{API}/posts/a%00b"),
    Hostile(
        "NUL in an admin search", "GET", f"{API}/admin/users", as_admin=True, params={"q": "\x00"}
    ),
    # Control characters and blanks in one-line fields.
    Hostile("a title of spaces", "PATCH", POST, json={"title": "   "}),
    Hostile("a tag of a form feed", "PATCH", POST, json={"tags": ["\f"]}),
    Hostile("a newline in a name", "PATCH", ME, json={"name": "a\nb"}),
    Hostile("an escape in a title", "PATCH", POST, json={"title": "\x1b[31mred"}),
    # Avatar URLs that read as another URL, or as none.
    Hostile("a C1 control in an avatar URL", "PUT", PROFILE, json={"avatar_url": "https://a\x85b"}),
    Hostile(
        "a right-to-left override in an avatar URL",
        "PUT",
        PROFILE,
        json={"avatar_url": "https://paypal.com\u202e@evil"},
    ),
    Hostile(
        "an avatar URL of a zero-width host", "PUT", PROFILE, json={"avatar_url": "https://\u200b"}
    ),
    # Bodies that are not UTF-8 JSON.
    _body("Latin-1 bytes", "PATCH", ME, b'{"name": "caf\xe9"}', "application/json"),
    _body("a lone continuation byte", "POST", POSTS, b'{"title": "\x80"}', "application/json"),
    _body("UTF-16", "PATCH", ME, '{"name": "x"}'.encode("utf-16"), "application/json"),
    _body("truncated JSON", "PATCH", POST, b'{"title": "abc', "application/json"),
    _body("a bare string", "PATCH", POST, b'"title"', "application/json"),
    _body("an array", "PUT", PROFILE, b"[]", "application/json"),
    _body("NaN", "POST", DEACTIVATE, b'{"days": NaN}', "application/json"),
    _body("deeply nested JSON", "PATCH", POST, _nested(100_000), "application/json"),
    _body("nested a thousand deep", "PATCH", POST, _nested(1_000), "application/json"),
    # Duplicate keys: parsers disagree on which one wins.
    _body("a repeated key", "PATCH", POST, b'{"title": "A", "title": "B"}', "application/json"),
    _body(
        "a repeated role",
        "PATCH",
        ADMIN_USER,
        b'{"role": "user", "role": "admin"}',
        "application/json",
        as_admin=True,
    ),
    _body(
        "a key repeated with one value",
        "POST",
        POSTS,
        b'{"title": "t", "content": "c", "title": "t"}',
        "application/json",
    ),
    # Wrong content types.
    _body("text/plain", "PATCH", ME, b'{"name": "Plain"}', "text/plain"),
    _body("a form", "PATCH", ME, b"name=Form", "application/x-www-form-urlencoded"),
    _body(
        "a multipart form", "POST", POSTS, b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b"
    ),
    _body("XML", "POST", POSTS, b"<post><title>t</title></post>", "application/xml"),
    _body("no body at all", "POST", POSTS, b"", "application/json"),
    # 100,000-character fields.
    Hostile("a huge title", "POST", POSTS, json={"title": HUGE, "content": "c"}),
    Hostile("huge content", "PATCH", POST, json={"content": HUGE}),
    Hostile("a huge tag", "PATCH", POST, json={"tags": [HUGE]}),
    Hostile("eleven tags", "PATCH", POST, json={"tags": [f"t{n}" for n in range(11)]}),
    Hostile("a huge name", "PATCH", ME, json={"name": HUGE}),
    Hostile("a huge bio", "PUT", PROFILE, json={"bio": HUGE}),
    Hostile("a huge avatar URL", "PUT", PROFILE, json={"avatar_url": "https://a.b/" + HUGE}),
    Hostile("a huge search", "GET", POSTS, params={"q": HUGE_QUERY}),
    Hostile(
        "a huge admin search", "GET", f"{API}/admin/users", as_admin=True, params={"q": HUGE_QUERY}
    ),
    Hostile("a huge key", "PATCH", ME, json={"name": "n", HUGE: 1}),
    # Numbers out of range, negative or of the wrong type.
    Hostile("a huge limit", "GET", POSTS, params={"limit": "1" + "0" * 30}),
    Hostile("limit 101", "GET", POSTS, params={"limit": 101}),
    Hostile("limit 0", "GET", f"{API}/tags", params={"limit": 0}),
    Hostile("a negative limit", "GET", f"{API}/authors/top", params={"limit": -1}),
    Hostile("a fractional limit", "GET", f"{API}/users/me/posts", params={"limit": "2.5"}),
    Hostile("an exponent limit", "GET", POSTS, params={"limit": "1e3"}),
    Hostile("negative days", "POST", DEACTIVATE, as_admin=True, json={"days": -1}),
    Hostile("zero days", "POST", DEACTIVATE, as_admin=True, json={"days": 0}),
    Hostile("a huge number of days", "POST", DEACTIVATE, as_admin=True, json={"days": 10**400}),
    Hostile("days as a string", "POST", DEACTIVATE, as_admin=True, json={"days": "30"}),
    Hostile("days as a float", "POST", DEACTIVATE, as_admin=True, json={"days": 30.5}),
    Hostile("days as true", "POST", DEACTIVATE, as_admin=True, json={"days": True}),
    Hostile("published as 1", "PATCH", POST, json={"published": 1}),
    Hostile("published as a string", "PATCH", POST, json={"published": "true"}),
    Hostile("is_active as 0", "PATCH", ADMIN_USER, as_admin=True, json={"is_active": 0}),
    Hostile(
        "a role that does not exist", "PATCH", ADMIN_USER, as_admin=True, json={"role": "root"}
    ),
    Hostile("a null title", "PATCH", POST, json={"title": None}),
    Hostile("tags as a string", "PATCH", POST, json={"tags": "a,b"}),
    Hostile(
        "an unknown field",
        "PATCH",
        POST,
        json={"author_id": "00000000-0000-0000-0000-000000000000"},
    ),
    Hostile("a slug in the body", "PATCH", POST, json={"slug": "hijacked"}),
    # Malformed UUIDs.
    Hostile("a user id that is not a UUID", "GET", f"{API}/users/not-a-uuid"),
    Hostile("a user id with SQL", "GET", f"{API}/users/1' OR '1'='1"),
    Hostile("an author filter that is not a UUID", "GET", POSTS, params={"author": "1 OR 1=1"}),
    Hostile(
        "an admin target that is not a UUID",
        "PATCH",
        f"{API}/admin/users/xyz",
        as_admin=True,
        json={"role": "user"},
    ),
    Hostile("a UUID too long", "GET", f"{API}/users/{'0' * 33}"),
    # Malformed cursors on every list that takes one.
    *[
        Hostile(
            f"cursor {cursor[:12]!r} on {path}",
            "GET",
            f"{API}{path}",
            as_admin="admin" in path,
            params={"cursor": cursor},
        )
        for cursor in MALFORMED_CURSORS
        for path in ("/posts", "/users/me/posts", "/admin/users")
    ],
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
async def test_hostile_requests_are_refused_and_change_nothing(
    client: AsyncClient, session: AsyncSession, setup: Setup, hostile: Hostile
) -> None:
    before = await snapshot(session)
    response = await hostile.send(client, setup)
    assert 400 <= response.status_code < 500, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert {"type", "title", "detail"} <= problem.keys()
    assert "Traceback" not in response.text
    assert "SELECT" not in response.text
    assert await snapshot(session) == before


@pytest.mark.parametrize("text", SQL_LOOKING)
async def test_sql_looking_text_is_stored_and_searched_as_text(
    client: AsyncClient, session: AsyncSession, setup: Setup, text: str
) -> None:
    body = {"title": text, "content": text, "tags": [text[:50]], "published": True}
    created = await client.post(POSTS, json=body, headers=setup.owner)
    assert created.status_code == 201, created.text
    post = created.json()
    assert (post["title"], post["content"]) == (text, text)
    assert [tag["name"] for tag in post["tags"]] == [text[:50]]
    renamed = await client.patch(ME, json={"name": text}, headers=setup.owner)
    assert renamed.json()["name"] == text
    profile = await client.put(PROFILE, json={"bio": text}, headers=setup.owner)
    assert profile.json()["bio"] == text

    searches = [
        await client.get(POSTS, params={"q": text}),
        await client.get(POSTS, params={"tag": [text]}),
        await client.get(f"{API}/posts/{quote(text, safe='')}"),
        await client.get(f"{API}/admin/users", params={"q": text}, headers=setup.admin),
    ]
    assert all(r.status_code in (200, 404) for r in searches), [r.text for r in searches]
    rows = await snapshot(session)
    assert len(rows["users"]) == 2
    assert len(rows["posts"]) == 2


async def test_a_search_for_a_quote_finds_the_post_that_contains_it(
    client: AsyncClient, setup: Setup
) -> None:
    body = {"title": "O'Reilly's guide", "content": "It's here.", "published": True}
    assert (await client.post(POSTS, json=body, headers=setup.owner)).status_code == 201
    found = await client.get(POSTS, params={"q": "O'Reilly"})
    assert [p["title"] for p in found.json()["items"]] == ["O'Reilly's guide"]
    like = await client.get(f"{API}/admin/users", params={"q": "%"}, headers=setup.admin)
    assert like.json()["items"] == []  # `%` is a character to find, not a wildcard


async def test_a_body_just_under_the_cap_is_accepted(client: AsyncClient, setup: Setup) -> None:
    """Close to the 1 MiB cap: a valid JSON document that is mostly whitespace."""
    raw = b"{" + b" " * (1024 * 1024 - 64) + b'"title": "t"}'
    response = await client.patch(
        POST.format(slug=setup.slug),
        content=raw,
        headers={**setup.owner, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert json.loads(response.text)["title"] == "t"


REPEATED_TITLE = b'{"title": "A", "title": "B"}'
JSON, PLAIN = ("Content-Type", "application/json"), ("Content-Type", "text/plain")


async def _patch_with(
    client: AsyncClient, setup: Setup, headers: list[tuple[str, str]], body: bytes
) -> Response:
    return await client.patch(
        POST.format(slug=setup.slug), content=body, headers=[*setup.owner.items(), *headers]
    )


def _assert_problem(response: Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    "content_types", [[JSON, PLAIN], [PLAIN, JSON]], ids=["json first", "json last"]
)
async def test_conflicting_content_types_are_refused(
    client: AsyncClient, session: AsyncSession, setup: Setup, content_types: list[tuple[str, str]]
) -> None:
    """FastAPI reads the first Content-Type, a proxy may read the last: neither is trusted."""
    before = await snapshot(session)

    response = await _patch_with(client, setup, content_types, REPEATED_TITLE)

    _assert_problem(response, 400)
    assert await snapshot(session) == before


async def test_a_content_type_sent_twice_alike_is_still_vetted(
    client: AsyncClient, session: AsyncSession, setup: Setup
) -> None:
    before = await snapshot(session)

    response = await _patch_with(client, setup, [JSON, JSON], REPEATED_TITLE)

    _assert_problem(response, 422)
    assert response.json()["errors"][0]["type"] == "json_key"
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    ("lengths", "status"),
    [
        (["13", "14"], 400),
        (["14", str(2 * 1024 * 1024)], 400),
        ([str(2 * 1024 * 1024), str(2 * 1024 * 1024)], 413),
    ],
    ids=["conflicting", "conflicting, one over the cap", "alike, over the cap"],
)
async def test_repeated_content_lengths_are_refused(
    client: AsyncClient, session: AsyncSession, setup: Setup, lengths: list[str], status: int
) -> None:
    """Whichever Content-Length a server framed the body by, the app never reads past the cap."""
    before = await snapshot(session)
    headers = [JSON, *(("Content-Length", length) for length in lengths)]

    response = await _patch_with(client, setup, headers, b'{"title": "t"}')

    _assert_problem(response, status)
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", f"{API}/users/me", "GET, PATCH"),
        ("DELETE", f"{API}/posts", "GET, POST"),
        ("PATCH", DEACTIVATE, "POST"),
    ],
)
async def test_a_wrong_method_is_405_naming_every_allowed_one(
    client: AsyncClient, setup: Setup, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path, json={"days": 1}, headers=setup.admin)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"
