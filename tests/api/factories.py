"""Building posts through the API, the way clients do."""

from typing import Any

from httpx import AsyncClient

POSTS = "/api/v1/posts"


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
