from httpx import AsyncClient

from tests.conftest import Accounts


async def test_health(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_create_and_read_post(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new("ada@example.com")
    me = await client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200, me.text
    created = await client.post(
        "/api/v1/posts",
        json={
            "title": "Héllo Wörld",
            "content": "x",
            "tags": ["Python", "python", "SQL"],
            "published": True,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "hello-world"
    assert [t["name"] for t in body["tags"]] == ["Python", "SQL"]
    listed = await client.get("/api/v1/posts")
    assert listed.status_code == 200, listed.text
    assert [p["slug"] for p in listed.json()["items"]] == ["hello-world"]
