import gc

from httpx import ASGITransport, AsyncClient

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


async def test_a_stopped_app_keeps_no_database_connection(database_url: str) -> None:
    """The engine is disposed of when the app stops: its pooled connections are closed,
    not left open on the server until the process exits."""
    app = create_app(settings_for(database_url))
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://quire.test") as client:
            assert (await client.get("/health")).status_code == 200
        engine = app.state.engine
        assert engine.pool.checkedin() == 1
    assert engine.pool.checkedin() == 0
