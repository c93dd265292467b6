"""`make bench`'s ceiling serves the list page on asyncpg alone, paying nothing the API doesn't."""

import orjson
import pytest

from bench.ceiling import Ceiling
from bench.instructions import Lifespan


async def test_the_ceiling_returns_connections_to_its_pool_as_they_are(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg's default reset (`RESET ALL` and three more) would cost a round trip a page."""
    monkeypatch.setenv("BENCH_DATABASE_URL", database_url)
    ceiling = Ceiling()
    async with Lifespan(ceiling):
        assert ceiling.pool is not None
        async with ceiling.pool.acquire() as connection:
            await connection.execute("SET application_name = 'kept'")
        async with ceiling.pool.acquire() as connection:
            assert await connection.fetchval("SHOW application_name") == "kept"
        page = orjson.loads(await ceiling.posts())
    assert set(page) == {"items", "next_cursor"}
