"""Who may change what: every mutating route against every kind of caller.

Each case runs one request as one caller against fresh data: a user (the owner) with a profile,
a published post and a draft, another user, a moderator, an admin, a deactivated user, and a
dormant user that a bulk deactivation would catch. A moderator manages every post as an admin
does, and nothing else. A refusal must carry the exact status as problem+json
and leave every row of the database as it was; a success must change the subject (or, for the
`/users/me` routes, leave the owner's rows alone when someone else calls).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.conftest import Accounts
from tests.security.conftest import Snapshot, set_user, snapshot

API = "/api/v1"
ACTORS = ("anonymous", "other", "owner", "moderator", "admin", "deactivated")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@dataclass
class World:
    """The callers' headers and the ids the routes are aimed at."""

    headers: dict[str, dict[str, str]]
    ids: dict[str, str]

    def path(self, template: str) -> str:
        return template.format(**self.ids)


async def _sign_in(
    client: AsyncClient, accounts: Accounts, email: str
) -> tuple[str, dict[str, str]]:
    user_id, headers = await accounts.new(email)
    response = await client.get(f"{API}/users/me", headers=headers)
    assert response.status_code == 200, response.text
    return str(user_id), headers


async def _post(client: AsyncClient, headers: dict[str, str], title: str, published: bool) -> str:
    body = {"title": title, "content": "Body.", "tags": ["Kept"], "published": published}
    response = await client.post(f"{API}/posts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    slug: str = response.json()["slug"]
    return slug


@pytest.fixture
async def world(client: AsyncClient, accounts: Accounts, session: AsyncSession) -> World:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    ids: dict[str, str] = {}
    for actor in ("owner", "other", "moderator", "admin", "deactivated", "dormant"):
        ids[actor], headers[actor] = await _sign_in(client, accounts, f"{actor}@example.com")
    profile = {"bio": "Owner's bio.", "avatar_url": "https://example.com/a.png"}
    assert (
        await client.put(f"{API}/users/me/profile", json=profile, headers=headers["owner"])
    ).is_success
    ids["published"] = await _post(client, headers["owner"], "Published post", True)
    ids["draft"] = await _post(client, headers["owner"], "Draft post", False)
    await set_user(session, ids["moderator"], "role = 'moderator'")
    await set_user(session, ids["admin"], "role = 'admin'")
    await set_user(session, ids["deactivated"], "is_active = false")
    await set_user(session, ids["dormant"], "last_seen_at = now() - interval '400 days'")
    return World(headers=headers, ids=ids)


Selector = Callable[[Snapshot], object]


def owner_rows(ids: dict[str, str]) -> Selector:
    """The owner's user and profile rows."""
    owner = uuid.UUID(ids["owner"])
    return lambda rows: (
        [r for r in rows["users"] if r["id"] == owner],
        [r for r in rows["user_profiles"] if r["user_id"] == owner],
    )


def owner_posts(ids: dict[str, str]) -> Selector:
    """Every post of the owner's, with its tag links."""
    owner = uuid.UUID(ids["owner"])
    return lambda rows: _with_links(rows, [r for r in rows["posts"] if r["author_id"] == owner])


def post_rows(key: str) -> Callable[[dict[str, str]], Selector]:
    """The post whose slug is `ids[key]`, with its tag links."""
    return lambda ids: (
        lambda rows: _with_links(rows, [r for r in rows["posts"] if r["slug"] == ids[key]])
    )


def user_row(key: str) -> Callable[[dict[str, str]], Selector]:
    return lambda ids: lambda rows: [r for r in rows["users"] if str(r["id"]) == ids[key]]


def _with_links(rows: Snapshot, posts: list[dict[str, Any]]) -> object:
    post_ids = {post["id"] for post in posts}
    return posts, [link for link in rows["post_tags"] if link["post_id"] in post_ids]


@dataclass(frozen=True)
class Attempt:
    """One mutating request, the status each caller must get, and the rows it is about."""

    name: str
    method: str
    path: str
    statuses: dict[str, int]
    subject: Callable[[dict[str, str]], Selector]
    json: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    # Routes that act on the caller: only the owner's own call may change the owner's rows.
    acts_on_caller: bool = False

    async def send(self, client: AsyncClient, world: World, actor: str) -> Response:
        return await client.request(
            self.method,
            world.path(self.path),
            json=self.json,
            files=self.files,
            headers=world.headers[actor],
        )


def _statuses(
    ok: int, *, other: int, owner: int | None = None, moderator: int | None = None
) -> dict[str, int]:
    return {
        "anonymous": 401,
        "other": other,
        "owner": ok if owner is None else owner,
        "moderator": ok if moderator is None else moderator,
        "admin": ok,
        "deactivated": 403,
    }


ATTEMPTS = [
    Attempt(
        "rename me",
        "PATCH",
        f"{API}/users/me",
        _statuses(200, other=200),
        owner_rows,
        json={"name": "Renamed"},
        acts_on_caller=True,
    ),
    Attempt(
        "edit my profile",
        "PUT",
        f"{API}/users/me/profile",
        _statuses(200, other=200),
        owner_rows,
        json={"bio": "Rewritten."},
        acts_on_caller=True,
    ),
    Attempt(
        "upload my avatar",
        "PUT",
        f"{API}/users/me/avatar",
        _statuses(200, other=200),
        owner_rows,
        files={"file": ("a.jpg", JPEG, "image/jpeg")},
        acts_on_caller=True,
    ),
    Attempt(
        "create a post",
        "POST",
        f"{API}/posts",
        _statuses(201, other=201),
        owner_posts,
        json={"title": "Brand new", "content": "c", "tags": ["Fresh"]},
        acts_on_caller=True,
    ),
    Attempt(
        "edit a published post",
        "PATCH",
        f"{API}/posts/{{published}}",
        _statuses(200, other=403),
        post_rows("published"),
        json={"title": "Edited", "tags": ["Replaced"], "published": False},
    ),
    Attempt(
        "edit a draft",
        "PATCH",
        f"{API}/posts/{{draft}}",
        _statuses(200, other=404),
        post_rows("draft"),
        json={"content": "Edited.", "tags": [], "published": True},
    ),
    Attempt(
        "delete a published post",
        "DELETE",
        f"{API}/posts/{{published}}",
        _statuses(204, other=403),
        post_rows("published"),
    ),
    Attempt(
        "delete a draft",
        "DELETE",
        f"{API}/posts/{{draft}}",
        _statuses(204, other=404),
        post_rows("draft"),
    ),
    Attempt(
        "change a user's access",
        "PATCH",
        f"{API}/admin/users/{{owner}}",
        _statuses(200, other=403, owner=403, moderator=403),
        user_row("owner"),
        json={"role": "moderator", "is_active": False},
    ),
    Attempt(
        "deactivate the inactive",
        "POST",
        f"{API}/admin/users/deactivate-inactive",
        _statuses(200, other=403, owner=403, moderator=403),
        user_row("dormant"),
        json={"days": 30},
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
async def test_each_caller_gets_the_exact_status_and_refusals_change_nothing(
    client: AsyncClient, session: AsyncSession, world: World, attempt: Attempt, actor: str
) -> None:
    before = await snapshot(session)
    response = await attempt.send(client, world, actor)
    after = await snapshot(session)

    assert response.status_code == attempt.statuses[actor], response.text
    if response.is_error:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
        assert after == before, "a refused request changed the database"
        return
    rows_of = attempt.subject(world.ids)
    if attempt.acts_on_caller and actor != "owner":
        assert rows_of(after) == rows_of(before), "someone else's call changed the owner's rows"
    else:
        assert rows_of(after) != rows_of(before), "the request succeeded but changed nothing"


async def test_an_admin_cannot_change_their_own_access(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    for change in ({"role": "user"}, {"is_active": False}, {}):
        before = await snapshot(session)
        response = await client.patch(
            world.path(f"{API}/admin/users/{{admin}}"), json=change, headers=world.headers["admin"]
        )
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert await snapshot(session) == before


async def test_a_demoted_admin_loses_admin_routes_at_once(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    """Roles are read from the database on every request, never trusted from the token."""
    await set_user(session, world.ids["admin"], "role = 'user'")
    before = await snapshot(session)
    response = await client.post(
        f"{API}/admin/users/deactivate-inactive", json={"days": 30}, headers=world.headers["admin"]
    )
    assert response.status_code == 403
    assert await snapshot(session) == before


async def test_a_deactivated_user_cannot_even_read_their_own_drafts(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    await set_user(session, world.ids["owner"], "is_active = false")
    draft = await client.get(world.path(f"{API}/posts/{{draft}}"), headers=world.headers["owner"])
    mine = await client.get(f"{API}/users/me/posts", headers=world.headers["owner"])
    assert (draft.status_code, mine.status_code) == (403, 403)
