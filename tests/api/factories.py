"""Building posts through the API, the way clients do."""

from collections.abc import Mapping
from typing import Any

from httpx import AsyncClient

POSTS = "/api/v1/posts"
# No list these tests page through is longer: more pages is a cursor that does not move on.
MAX_PAGES = 40


async def create_post(
    client: AsyncClient,
    headers: dict[str, str],
    title: str = "A post",
    *,
    content: str = "Some content.",
    tags: list[str] | None = None,
    published: bool = True,
) -> dict[str, Any]:
    response = await client.post(
        POSTS,
        json={"title": title, "content": content, "tags": tags or [], "published": published},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def every_page(
    client: AsyncClient, params: Mapping[str, Any] = {}, *, limit: int = 2
) -> list[str]:
    """The slugs of every page of the post list from `params` (filters, and a `cursor` to
    start from), following `next_cursor` to the end: each page but the last is full."""
    slugs: list[str] = []
    asked = {"limit": limit, **params}
    for _ in range(MAX_PAGES):
        response = await client.get(POSTS, params=asked)
        assert response.status_code == 200, (asked, response.text)
        page = response.json()
        slugs += [post["slug"] for post in page["items"]]
        if page["next_cursor"] is None:
            assert len(page["items"]) <= limit
            return slugs
        assert len(page["items"]) == limit
        asked["cursor"] = page["next_cursor"]
    raise AssertionError(f"more than {MAX_PAGES} pages: a cursor that does not move on")
