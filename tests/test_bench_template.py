"""`make bench`'s comparison serves what full-stack-fastapi-template's item list serves."""

import importlib
import uuid
from datetime import datetime

import jwt
import pytest
from httpx import ASGITransport, AsyncClient

from bench.instructions import Lifespan
from tests.support import recreate_database

SECRET = "bench-template-test-secret-of-32-bytes"
FRONTEND = "http://localhost:5173"


async def test_the_template_lists_the_newest_items_with_their_count(
    direct_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await recreate_database(direct_url, "bench_template")
    user_id = str(uuid.uuid4())
    monkeypatch.setenv("TEMPLATE_DATABASE_URL", url)
    monkeypatch.setenv("TEMPLATE_SECRET", SECRET)
    monkeypatch.setenv("TEMPLATE_USER_ID", user_id)
    token = jwt.encode({"sub": user_id}, SECRET, algorithm="HS256")
    # Imported here: it builds its engine from the environment on import, as the template does.
    template = importlib.import_module("bench.template")
    transport = ASGITransport(template.app)
    try:
        async with Lifespan(template.app), AsyncClient(transport=transport) as client:
            anonymous = await client.get("http://bench/api/v1/items/")
            response = await client.get(
                "http://bench/api/v1/items/?limit=20",
                headers={"Authorization": f"Bearer {token}", "Origin": FRONTEND},
            )
    finally:
        template.engine.dispose()
    assert anonymous.status_code == 401
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    page = response.json()
    assert page["count"] == template.ITEMS
    created = [datetime.fromisoformat(item["created_at"]) for item in page["data"]]
    assert len(created) == 20
    assert created == sorted(created, reverse=True)
    assert page["data"][0]["title"] == f"Item {template.ITEMS - 1}"
    assert {item["owner_id"] for item in page["data"]} == {user_id}
