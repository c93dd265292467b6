import gc

from httpx import AsyncClient

from api.main import create_app
from tests.conftest import Accounts, settings_for


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


async def test_a_running_app_leaves_its_own_objects_out_of_garbage_collection(
    database_url: str,
) -> None:
    """Full collections no longer walk the modules, models and routes while the app runs
    (see `api.main`); once it stops, they may be collected again."""
    gc.unfreeze()
    app = create_app(settings_for(database_url))
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
