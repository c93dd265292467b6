"""An exhausted connection pool is an overload: 503 problem, never 500 nor a hang."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from api.errors import PROBLEM_MEDIA_TYPE
from api.main import create_app
from db.engine import create_engine, create_sessionmaker
from tests import conftest


@pytest.fixture
async def starved_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app with a one-connection pool that gives up waiting almost at once."""
    app = create_app(conftest.test_settings(database_url))
    async with app.router.lifespan_context(app):
        await app.state.engine.dispose()
        app.state.engine = create_engine(
            database_url,
            pool_mode=app.state.settings.database.pool_mode,
            pool_size=1,
            max_overflow=0,
            pool_timeout=0.1,
        )
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        yield app
        await app.state.engine.dispose()


async def test_waiting_too_long_for_a_connection_is_a_503(starved_app: FastAPI) -> None:
    transport = ASGITransport(app=starved_app)
    async with (
        starved_app.state.engine.connect() as held,
        AsyncClient(transport=transport, base_url="http://quire.test") as client,
    ):
        await held.exec_driver_sql("SELECT 1")
        response = await client.get("/api/v1/posts")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["status"] == 503
