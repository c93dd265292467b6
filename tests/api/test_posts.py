"""Creating, reading, editing and deleting posts."""

import re
import uuid
from dataclasses import dataclass

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.factories import POSTS, create_post
from tests.conftest import Accounts
from tests.support import run_sql


async def make_admin(session: AsyncSession, client: AsyncClient, headers: dict[str, str]) -> None:
    user_id = (await client.get("/api/v1/users/me", headers=headers)).json()["id"]
    await run_sql(session, "UPDATE users SET role = 'admin' WHERE id = :id", id=uuid.UUID(user_id))
    await session.commit()


@dataclass(frozen=True)
class Cast:
    """The request headers of a post's author, a stranger and an administrator."""

    author: dict[str, str]
    stranger: dict[str, str]
    admin: dict[str, str]


@pytest.fixture
async def cast(client: AsyncClient, session: AsyncSession, accounts: Accounts) -> Cast:
    _, author = await accounts.new()
    _, stranger = await accounts.new()
    _, admin = await accounts.new()
    await make_admin(session, client, admin)
    return Cast(author, stranger, admin)


async def test_create_returns_the_post_with_location(
    client: AsyncClient, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new(name="Writer")
    response = await client.post(
        POSTS,
        json={"title": "Ünïcode & Friends: Ça va?", "content": "Body", "tags": [" Python ", "SQL"]},
        headers=headers,
    )
    assert response.status_code == 201
    post = response.json()
    assert response.headers["location"] == f"/api/v1/posts/{post['slug']}"
    assert post["slug"] == "unicode-friends-ca-va"
    assert post["title"] == "Ünïcode & Friends: Ça va?"
    assert post["published"] is False
    assert post["published_at"] is None
    assert post["author"] == {"id": str(user_id), "name": "Writer"}
    assert post["tags"] == [{"name": "Python", "slug": "python"}, {"name": "SQL", "slug": "sql"}]
    assert {"id", "content", "created_at", "updated_at"} <= post.keys()


async def test_publishing_on_create_stamps_published_at(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, published=True)
    assert post["published"] is True
    assert post["published_at"] is not None


async def test_duplicate_tags_fold_case_insensitively_and_reuse_rows(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    first = await create_post(client, headers, "One", tags=["Rust", "rust", "RUST", "Go"])
    assert [t["name"] for t in first["tags"]] == ["Go", "Rust"]
    second = await create_post(client, headers, "Two", tags=["rust"])
    assert second["tags"] == [{"name": "Rust", "slug": "rust"}]
    count = await run_sql(session, "SELECT count(*) FROM tags")
    assert count.scalar() == 2


async def test_tags_outside_ascii_are_kept_and_reused(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    """The database lowers names as its unique index does, whatever its locale knows."""
    _, headers = await accounts.new()
    first = await create_post(client, headers, "One", tags=["Émile", "Øre", "straße"])
    assert sorted(t["name"] for t in first["tags"]) == ["straße", "Émile", "Øre"]
    second = await create_post(client, headers, "Two", tags=["Émile"])
    assert [t["name"] for t in second["tags"]] == ["Émile"]
    count = await run_sql(session, "SELECT count(*) FROM tags")
    assert count.scalar() == 3
    # One tag in any case, as far as the database's lower() knows: beyond ASCII on the
    # embedded server and on Supabase (C.UTF-8), ASCII only on a server in the C locale.
    folded = await run_sql(session, "SELECT lower('ÉMILE') = lower('Émile')")
    third = await create_post(client, headers, "Three", tags=["ÉMILE"])
    assert [t["name"] for t in third["tags"]] == ["Émile" if folded.scalar() else "ÉMILE"]


async def test_tags_with_the_same_slug_get_distinct_slugs(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, tags=["C", "C!"])
    slugs = [t["slug"] for t in post["tags"]]
    assert slugs[0] == "c"
    assert slugs[1].startswith("c-")


async def test_a_tag_whose_short_suffixes_are_all_taken_still_gets_a_slug(
    client: AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    """Anyone may create tags: taking `zzq` and every `zzq-<4 hex digits>` must not make the
    next `ZZQ!` a 500."""
    _, headers = await accounts.new()
    await run_sql(
        session,
        "INSERT INTO tags (name, slug) SELECT 'zzq ' || n, 'zzq-' || lpad(to_hex(n), 4, '0') "
        "FROM generate_series(0, 65535) AS n UNION ALL SELECT 'zzq', 'zzq'",
    )

    post = await create_post(client, headers, tags=["ZZQ!"])

    [tag] = post["tags"]
    assert re.fullmatch(r"zzq-[0-9a-f]{8}", tag["slug"]), tag


async def test_same_title_gets_a_suffixed_slug(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    slugs = [(await create_post(client, headers, "Hello World"))["slug"] for _ in range(3)]
    assert slugs[0] == "hello-world"
    assert len(set(slugs)) == 3
    assert all(slug.startswith("hello-world-") for slug in slugs[1:])


async def test_title_without_letters_still_gets_a_slug(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    assert (await create_post(client, headers, "!!!"))["slug"] == "post"


async def test_invalid_posts_are_422_and_store_nothing(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    bad_bodies = {
        "title": {"title": "", "content": "c"},
        "title too long": {"title": "x" * 201, "content": "c"},
        "content": {"title": "t"},
        "content too long": {"title": "t", "content": "x" * 50_001},
        "tags": {"title": "t", "content": "c", "tags": [f"t{n}" for n in range(11)]},
        "tag too long": {"title": "t", "content": "c", "tags": ["x" * 51]},
        "blank tag": {"title": "t", "content": "c", "tags": ["   "]},
        "unknown field": {"title": "t", "content": "c", "author_id": "x"},
        "published": {"title": "t", "content": "c", "published": "maybe"},
    }
    for case, body in bad_bodies.items():
        response = await client.post(POSTS, json=body, headers=headers)
        assert response.status_code == 422, case
        problem = response.json()
        assert problem["status"] == 422
        assert problem["errors"], case
    count = await run_sql(session, "SELECT count(*) FROM posts")
    assert count.scalar() == 0


async def test_anonymous_cannot_post(client: AsyncClient) -> None:
    response = await client.post(POSTS, json={"title": "t", "content": "c"})
    assert response.status_code == 401


async def test_drafts_are_visible_only_to_their_author_and_admins(
    client: AsyncClient, cast: Cast
) -> None:
    draft = await create_post(client, cast.author, "Secret draft", published=False)
    url = f"{POSTS}/{draft['slug']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=cast.stranger)).status_code == 404
    assert (await client.get(url, headers=cast.author)).status_code == 200
    assert (await client.get(url, headers=cast.admin)).status_code == 200
    assert (await client.get(f"{POSTS}/no-such-post")).status_code == 404


async def test_patch_changes_fields_and_keeps_the_slug(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, "Original", tags=["a", "b"], published=False)
    response = await client.patch(
        f"{POSTS}/{post['slug']}",
        json={"title": "Renamed", "content": "New", "tags": ["b", "c"]},
        headers=headers,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["slug"] == "original"
    assert updated["title"] == "Renamed"
    assert updated["content"] == "New"
    assert [t["name"] for t in updated["tags"]] == ["b", "c"]
    assert updated["updated_at"] >= post["updated_at"]


async def test_a_change_of_tags_alone_updates_the_post(
    client: AsyncClient, accounts: Accounts
) -> None:
    """Tags are part of the post clients read; the same tags again change nothing."""
    _, headers = await accounts.new()
    post = await create_post(client, headers, tags=["a"])
    url = f"{POSTS}/{post['slug']}"

    same = (await client.patch(url, json={"tags": ["A"]}, headers=headers)).json()
    retagged = (await client.patch(url, json={"tags": ["a", "b"]}, headers=headers)).json()

    assert same["updated_at"] == post["updated_at"]
    assert retagged["updated_at"] > post["updated_at"]
    assert [tag["name"] for tag in retagged["tags"]] == ["a", "b"]


async def test_publishing_stamps_published_at_only_the_first_time(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, published=False)
    url = f"{POSTS}/{post['slug']}"
    first = (await client.patch(url, json={"published": True}, headers=headers)).json()
    assert first["published"] is True
    stamped = first["published_at"]
    assert stamped is not None
    hidden = (await client.patch(url, json={"published": False}, headers=headers)).json()
    assert hidden["published"] is False
    again = (await client.patch(url, json={"published": True}, headers=headers)).json()
    assert again["published_at"] == stamped


async def test_patch_with_empty_tags_clears_them(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, tags=["x"])
    response = await client.patch(f"{POSTS}/{post['slug']}", json={"tags": []}, headers=headers)
    assert response.json()["tags"] == []


async def test_patch_refuses_null_for_required_fields(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers)
    for field in ("title", "content", "published"):
        response = await client.patch(
            f"{POSTS}/{post['slug']}", json={field: None}, headers=headers
        )
        assert response.status_code == 422, field


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"title": ""}, "string_too_short"),
        ({"title": 5}, "string_type"),
        ({"content": "\u0000"}, "string_pattern_mismatch"),
        ({"published": "maybe"}, "bool_type"),
    ],
    ids=["empty title", "title not text", "NUL in content", "published not a boolean"],
)
async def test_a_bad_patch_value_is_one_error_named_by_its_field(
    client: AsyncClient, accounts: Accounts, body: dict[str, object], error_type: str
) -> None:
    """The field as the client sent it, not pydantic's union branches (`title.none`: null is
    refused anyway)."""
    _, headers = await accounts.new()
    post = await create_post(client, headers)
    response = await client.patch(f"{POSTS}/{post['slug']}", json=body, headers=headers)
    assert response.status_code == 422
    [field] = body
    errors = response.json()["errors"]
    assert [(error["field"], error["type"]) for error in errors] == [(field, error_type)]


async def test_only_the_author_or_an_admin_may_edit_or_delete(
    client: AsyncClient, cast: Cast
) -> None:
    post = await create_post(client, cast.author, "Guarded")
    url = f"{POSTS}/{post['slug']}"
    assert (await client.patch(url, json={"title": "x"})).status_code == 401
    assert (await client.patch(url, json={"title": "x"}, headers=cast.stranger)).status_code == 403
    assert (await client.delete(url, headers=cast.stranger)).status_code == 403
    assert (await client.get(url)).json()["title"] == "Guarded"
    response = await client.patch(url, json={"title": "By admin"}, headers=cast.admin)
    assert response.status_code == 200
    assert response.json()["title"] == "By admin"


async def test_delete_removes_the_post_and_its_links_but_not_its_tags(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, tags=["keep-me"])
    response = await client.delete(f"{POSTS}/{post['slug']}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers  # no body, so no type of one
    assert (await client.get(f"{POSTS}/{post['slug']}", headers=headers)).status_code == 404
    links = await run_sql(session, "SELECT count(*) FROM post_tags")
    assert links.scalar() == 0
    tags = await run_sql(session, "SELECT name FROM tags")
    assert tags.scalars().all() == ["keep-me"]
