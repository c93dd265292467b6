"""Listing, filtering, searching and paging published posts; tag and author rankings."""

import base64
from typing import Any

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from db.repositories import posts
from tests.api.factories import POSTS, create_post, every_page
from tests.conftest import Accounts
from tests.support import StatementLog, run_sql


async def slugs(client: AsyncClient, query: str = "", **params: Any) -> list[str]:
    response = await client.get(f"{POSTS}{query}", params=params or None)
    assert response.status_code == 200, response.text
    return [post["slug"] for post in response.json()["items"]]


async def test_lists_published_posts_newest_first(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    for title in ("First", "Second", "Third"):
        await create_post(client, headers, title)
    await create_post(client, headers, "Draft", published=False)
    assert await slugs(client) == ["third", "second", "first"]
    page = (await client.get(POSTS)).json()
    assert page["next_cursor"] is None
    assert page["items"][0]["author"]["name"]


async def test_tag_filter_requires_every_tag(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "Both", tags=["Python", "SQL"])
    await create_post(client, headers, "Only python", tags=["Python"])
    await create_post(client, headers, "Only sql", tags=["SQL"])
    assert await slugs(client, "?tag=python") == ["only-python", "both"]
    assert await slugs(client, "?tag=python&tag=sql") == ["both"]
    assert await slugs(client, "?tag=nothing") == []
    assert await slugs(client, "?tag=python&tag=nothing") == []


async def test_a_tag_is_named_by_its_slug_or_its_name_in_any_case(
    client: AsyncClient, accounts: Accounts
) -> None:
    """As posts name tags when they are written; a slug wins over another tag's name."""
    _, headers = await accounts.new()
    await create_post(client, headers, "Both", tags=["Machine Learning", "C++"])
    await create_post(client, headers, "Plain c", tags=["C"])
    [cpp] = [tag for tag in (await client.get("/api/v1/tags")).json() if tag["name"] == "C++"]
    assert cpp["slug"] == "c"  # "C", named later, got a suffixed slug
    for value in ("machine-learning", "Machine Learning", "MACHINE learning"):
        assert await slugs(client, tag=value) == ["both"], value
    assert await slugs(client, tag=["machine learning", "C++"]) == ["both"]
    assert await slugs(client, tag=["machine-learning", "Machine Learning"]) == ["both"]
    assert await slugs(client, tag="c") == ["both"]
    assert await slugs(client, tag="C") == ["plain-c"]
    assert await slugs(client, tag=["C++", "nothing"]) == []


async def test_tags_seldom_together_past_the_time_limit_are_refused(
    client: AsyncClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several tags walk the rarest one's posts: a 422 naming `tag` once that takes too long,
    like a search; one tag reads a page of its index and is never limited."""
    _, headers = await accounts.new()
    await create_post(client, headers, "Tagged", tags=["alpha", "beta"])
    monkeypatch.setattr(posts, "FILTER_SECONDS", 1e-6)

    refused = await client.get(POSTS, params={"tag": ["alpha", "beta"]})

    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["tag"]
    assert await slugs(client, tag="alpha") == ["tagged"]


async def test_a_tag_lists_a_post_while_it_is_published(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    draft = await create_post(client, headers, "Draft", tags=["go"], published=False)
    await create_post(client, headers, "Out", tags=["go"])
    path = f"{POSTS}/{draft['slug']}"
    assert await slugs(client, "?tag=go") == ["out"]

    await client.patch(path, json={"published": True}, headers=headers)
    assert await slugs(client, "?tag=go") == ["draft", "out"]
    await client.patch(path, json={"tags": ["go", "rust"]}, headers=headers)
    assert await slugs(client, "?tag=rust&tag=go") == ["draft"]
    await client.patch(path, json={"published": False}, headers=headers)
    assert await slugs(client, "?tag=go") == ["out"]
    assert await slugs(client, "?tag=rust") == []


async def test_author_filter(client: AsyncClient, accounts: Accounts) -> None:
    alice, alice_headers = await accounts.new()
    _, bob_headers = await accounts.new()
    await create_post(client, alice_headers, "By Alice")
    await create_post(client, bob_headers, "By Bob")
    assert await slugs(client, author=str(alice)) == ["by-alice"]


async def test_full_text_search(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "Indexes in PostgreSQL", content="B-trees and GIN indexes")
    await create_post(client, headers, "Cooking", content="A recipe for bread")
    assert await slugs(client, q="index") == ["indexes-in-postgresql"]
    assert await slugs(client, q="bread OR gin") == ["cooking", "indexes-in-postgresql"]
    assert await slugs(client, q='"recipe for bread" -postgres') == ["cooking"]
    assert await slugs(client, q="'; DROP TABLE posts; --") == []


async def test_a_search_past_its_time_limit_is_cancelled_and_refused(
    client: AsyncClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 422 naming `q`, not a 500 or a statement left running; lists without `q` are not
    limited, and the next search is served."""
    _, headers = await accounts.new()
    await create_post(client, headers, "Python tips", content="Python and more")
    monkeypatch.setattr(posts, "FILTER_SECONDS", 1e-6)

    refused = await client.get(POSTS, params={"q": "python -python"})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in refused.json()["errors"]] == ["q"]
    assert await slugs(client) == ["python-tips"]
    monkeypatch.undo()
    assert await slugs(client, q="python") == ["python-tips"]


async def test_search_follows_edits(client: AsyncClient, accounts: Accounts) -> None:
    """The stored search document is recomputed when a post's title or content changes."""
    _, headers = await accounts.new()
    post = await create_post(client, headers, "Gardening", content="Tomatoes and basil")
    assert await slugs(client, q="tomato") == ["gardening"]
    url = f"{POSTS}/{post['slug']}"
    edited = await client.patch(url, json={"content": "Roses only"}, headers=headers)
    assert edited.status_code == 200
    assert await slugs(client, q="tomato") == []
    assert await slugs(client, q="rose") == ["gardening"]
    renamed = await client.patch(url, json={"title": "Orchids"}, headers=headers)
    assert renamed.status_code == 200
    assert await slugs(client, q="orchid") == ["gardening"]


async def test_following_cursors_visits_every_post_exactly_once(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    expected = [(await create_post(client, headers, f"Post {n}"))["slug"] for n in range(7)]
    assert await every_page(client) == list(reversed(expected))


async def test_posts_published_at_the_same_instant_page_once_each(
    client: AsyncClient, accounts: Accounts, session: AsyncSession
) -> None:
    """The id breaks ties: imported posts, or posts written through the Data API, can share
    a `published_at`."""
    _, headers = await accounts.new()
    made = [(await create_post(client, headers, f"Tie {n}"))["slug"] for n in range(5)]
    await run_sql(session, "UPDATE posts SET published_at = '2026-01-01T00:00:00Z'")
    seen = await every_page(client)
    assert sorted(seen) == sorted(made)


async def test_a_full_last_page_has_no_next_cursor(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    for n in range(2):
        await create_post(client, headers, f"P{n}")
    page = (await client.get(POSTS, params={"limit": 2})).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


async def test_posts_published_while_paging_are_neither_repeated_nor_skipped(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    before = [(await create_post(client, headers, f"Old {n}"))["slug"] for n in range(5)]
    first = (await client.get(POSTS, params={"limit": 2})).json()
    await create_post(client, headers, "Fresh")
    rest = await every_page(client, {"cursor": first["next_cursor"]})
    seen = [p["slug"] for p in first["items"]] + rest
    assert seen == list(reversed(before))


async def test_filters_and_cursors_combine(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    tagged = [(await create_post(client, headers, f"T{n}", tags=["t"]))["slug"] for n in range(5)]
    await create_post(client, headers, "Untagged")
    assert await every_page(client, {"tag": "t"}) == list(reversed(tagged))


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "eyJhIjoxfQ", "A" * 600],
)
async def test_tampered_cursors_are_422(client: AsyncClient, cursor: str) -> None:
    response = await client.get(POSTS, params={"cursor": cursor})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def a_cursor(client: AsyncClient, accounts: Accounts) -> tuple[dict[str, str], str]:
    """An author's headers, and the cursor of the first page of one of their three posts."""
    _, headers = await accounts.new()
    for n in range(3):
        await create_post(client, headers, f"P{n}")
    cursor = (await client.get(POSTS, params={"limit": 1})).json()["next_cursor"]
    return headers, cursor


async def test_a_cursor_edited_by_one_character_is_422(
    client: AsyncClient, accounts: Accounts
) -> None:
    headers, cursor = await a_cursor(client, accounts)
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert (await client.get(POSTS, params={"cursor": flipped})).status_code == 422
    my_posts = await client.get(
        "/api/v1/users/me/posts", params={"cursor": cursor}, headers=headers
    )
    assert my_posts.status_code == 422


async def test_a_cursor_whose_signature_is_forged_is_422(
    client: AsyncClient, accounts: Accounts
) -> None:
    """Its body still reads as a position: only the signature refuses it."""
    _, cursor = await a_cursor(client, accounts)
    token = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    token[0] ^= 0xFF  # the signature comes first
    forged = base64.urlsafe_b64encode(bytes(token)).decode().rstrip("=")
    assert (await client.get(POSTS, params={"cursor": forged})).status_code == 422


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "99999999999999999999"])
async def test_limit_out_of_range_is_422(client: AsyncClient, limit: str) -> None:
    response = await client.get(POSTS, params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_page_size_does_not_change_the_number_of_statements(
    client: AsyncClient, accounts: Accounts, count_statements: StatementLog
) -> None:
    _, headers = await accounts.new()
    for n in range(12):
        await create_post(client, headers, f"Post {n}", tags=[f"tag{n % 4}", "common"])
    counts = {}
    for limit in (1, 100):
        await count_statements.clear()
        response = await client.get(POSTS, params={"limit": limit})
        assert response.status_code == 200
        counts[limit] = [s.split()[0] for s in await count_statements.statements()]
    assert counts[1] == counts[100]
    # The page with its authors and tags: one statement (WITH page AS (…) SELECT …).
    assert counts[100] == ["WITH"]


async def test_reading_a_post_is_one_statement(
    client: AsyncClient, accounts: Accounts, count_statements: StatementLog
) -> None:
    _, headers = await accounts.new()
    post = await create_post(client, headers, "Read once", tags=["zebra", "apple"])
    await count_statements.clear()
    response = await client.get(f"{POSTS}/{post['slug']}")
    assert response.status_code == 200
    assert [tag["name"] for tag in response.json()["tags"]] == ["apple", "zebra"]
    # The post with its author and tags: one statement (WITH page AS (…) SELECT …).
    assert [s.split()[0] for s in await count_statements.statements()] == ["WITH"]


async def test_my_posts_include_drafts_and_filter_by_state(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    _, other = await accounts.new()
    await create_post(client, headers, "Mine published")
    await create_post(client, headers, "Mine draft", published=False)
    await create_post(client, other, "Not mine")
    url = "/api/v1/users/me/posts"

    async def mine(**params: Any) -> list[str]:
        response = await client.get(url, params=params, headers=headers)
        return [p["slug"] for p in response.json()["items"]]

    assert await mine() == ["mine-draft", "mine-published"]
    assert await mine(published="true") == ["mine-published"]
    assert await mine(published="false") == ["mine-draft"]
    assert (await client.get(url)).status_code == 401


async def test_tags_are_ranked_by_published_use(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "A", tags=["popular", "beta"])
    await create_post(client, headers, "B", tags=["popular", "alpha"])
    await create_post(client, headers, "C", tags=["popular"])
    await create_post(client, headers, "Draft", tags=["alpha", "alpha2", "secret"], published=False)
    response = await client.get("/api/v1/tags")
    assert response.json() == [
        {"name": "popular", "slug": "popular", "post_count": 3},
        {"name": "alpha", "slug": "alpha", "post_count": 1},
        {"name": "beta", "slug": "beta", "post_count": 1},
    ]
    limited = await client.get("/api/v1/tags", params={"limit": 1})
    assert [t["name"] for t in limited.json()] == ["popular"]


async def test_top_authors(client: AsyncClient, accounts: Accounts) -> None:
    prolific, p_headers = await accounts.new(name="Prolific")
    casual, c_headers = await accounts.new(name="Casual")
    for n in range(3):
        await create_post(client, p_headers, f"P{n}")
    await create_post(client, c_headers, "C")
    await create_post(client, c_headers, "C draft", published=False)
    response = await client.get("/api/v1/authors/top")
    assert response.json() == [
        {"id": str(prolific), "name": "Prolific", "post_count": 3},
        {"id": str(casual), "name": "Casual", "post_count": 1},
    ]


async def test_writing_a_tagged_post_reads_it_back_once(
    client: AsyncClient, accounts: Accounts, count_statements: StatementLog
) -> None:
    _, headers = await accounts.new()
    await create_post(client, headers, "Warm up", tags=["known"])
    await count_statements.clear()
    await create_post(client, headers, "Tagged", tags=["known", "new"])
    statements = [" ".join(s.split()[:3]) for s in await count_statements.statements()]
    assert [s for s in statements if not s.startswith(("SELECT users", "INSERT INTO users"))] == [
        "INSERT INTO tags",  # the new ones; ON CONFLICT DO NOTHING for the known
        "SELECT anon_1.name, tags.name",  # the tags by name, each with the name asked for
        "INSERT INTO posts",
        "INSERT INTO post_tags",
        "WITH page AS",  # the post as the API sends it, with its author and tags
    ]
