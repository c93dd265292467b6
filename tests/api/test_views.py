"""Lists, a post's page, and a post just written send plain views: byte for byte what their
response models would."""

from typing import Any

from httpx import AsyncClient, Response
from pydantic import BaseModel

from api.schemas.posts import PostPublic, PostsPage
from tests.api.factories import POSTS, create_post
from tests.conftest import Accounts

# Every escape JSON writers disagree on: quotes, backslashes, control characters, non-ASCII,
# the line separators JavaScript once refused, and characters HTML cares about.
AWKWARD = 'Tab\there, "quotes", back\\slash, é, 日本, 🙂, \u2028\u2029, \x7f, </script>\nnew line'


def assert_sent_as(
    model: type[BaseModel], response: Response, status_code: int = 200
) -> dict[str, Any]:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    expected = model.model_validate_json(response.content).model_dump_json().encode()
    assert response.content == expected
    body: dict[str, Any] = response.json()
    return body


async def test_a_page_of_posts_is_what_its_model_sends(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "Untagged", content=AWKWARD)
    await create_post(client, headers, "Tagged", content=AWKWARD, tags=["zeta", "alpha", "mu"])
    await create_post(client, headers, "Newest")

    page = assert_sent_as(PostsPage, await client.get(POSTS, params={"limit": 2}))

    assert [post["title"] for post in page["items"]] == ["Newest", "Tagged"]
    assert [tag["name"] for tag in page["items"][1]["tags"]] == ["alpha", "mu", "zeta"]
    assert page["items"][1]["content"] == AWKWARD
    assert page["next_cursor"]
    last = await client.get(POSTS, params={"limit": 2, "cursor": page["next_cursor"]})
    assert assert_sent_as(PostsPage, last)["items"][0]["tags"] == []


async def test_a_post_is_sent_as_it_was_when_created(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    created = await create_post(client, headers, "Read me", content=AWKWARD, tags=["b", "a"])

    read = assert_sent_as(PostPublic, await client.get(f"{POSTS}/{created['slug']}"))

    assert read == created


async def test_a_draft_and_my_posts_are_what_their_models_send(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    draft = await create_post(client, headers, "Draft", published=False, tags=["wip"])

    read = assert_sent_as(PostPublic, await client.get(f"{POSTS}/{draft['slug']}", headers=headers))
    mine = assert_sent_as(PostsPage, await client.get("/api/v1/users/me/posts", headers=headers))

    assert read == draft
    assert read["published_at"] is None
    assert mine["items"] == [draft]


async def test_a_post_written_is_what_its_model_sends(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    body = {"title": "Written", "content": AWKWARD, "tags": ["zeta", "Alpha"], "published": True}

    created = assert_sent_as(PostPublic, await client.post(POSTS, json=body, headers=headers), 201)
    changes = {"content": "Changed", "tags": ["mu"], "published": False}
    path = f"{POSTS}/{created['slug']}"
    updated = assert_sent_as(PostPublic, await client.patch(path, json=changes, headers=headers))

    assert [tag["name"] for tag in created["tags"]] == ["Alpha", "zeta"]
    assert created["content"] == AWKWARD
    assert updated == created | changes | {
        "tags": updated["tags"],
        "updated_at": updated["updated_at"],
    }
    assert [tag["name"] for tag in updated["tags"]] == ["mu"]
    assert updated["updated_at"] > created["updated_at"]
