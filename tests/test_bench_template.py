"""`make bench`'s comparison serves what full-stack-fastapi-template's item list serves."""

import asyncio
import uuid
from datetime import datetime

import httpx
import jwt

from bench import servers
from tests.support import recreate_database

SECRET = "bench-template-test-secret-of-32-bytes"
FRONTEND = "http://localhost:5173"
# bench.template.ITEMS; the module is not imported here, where its tables would join Quire's.
ITEMS = 10_000


async def test_the_template_lists_the_newest_items_with_their_count(direct_url: str) -> None:
    url = await recreate_database(direct_url, "bench_template")
    user_id = str(uuid.uuid4())
    env = {"TEMPLATE_DATABASE_URL": url, "TEMPLATE_SECRET": SECRET, "TEMPLATE_USER_ID": user_id}
    token = jwt.encode({"sub": user_id}, SECRET, algorithm="HS256")

    # Served as `make bench` serves it: its own process, its own SQLModel tables.
    def read_pages() -> tuple[httpx.Response, httpx.Response]:
        with servers.template(env) as server, httpx.Client(base_url=server.base_url) as client:
            anonymous = client.get("/api/v1/items/")
            signed_in = client.get(
                "/api/v1/items/?limit=20",
                headers={"Authorization": f"Bearer {token}", "Origin": FRONTEND},
            )
        return anonymous, signed_in

    anonymous, response = await asyncio.to_thread(read_pages)
    assert anonymous.status_code == 401
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    page = response.json()
    assert page["count"] == ITEMS
    created = [datetime.fromisoformat(item["created_at"]) for item in page["data"]]
    assert len(created) == 20
    assert created == sorted(created, reverse=True)
    assert page["data"][0]["title"] == f"Item {ITEMS - 1}"
    assert {item["owner_id"] for item in page["data"]} == {user_id}
