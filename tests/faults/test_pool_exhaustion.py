"""An exhausted connection pool: waits served in arrival order, then 503, never 500 nor a hang."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from api.errors import PROBLEM_MEDIA_TYPE
from api.main import create_app
from db.engine import create_engine, create_sessionmaker
from db.pool import FairAsyncQueuePool, HandoffQueue
from tests.conftest import settings_for


async def settle(queue: HandoffQueue[str], waiting: int) -> None:
    """Let the getter tasks run until `waiting` of them wait on the queue."""
    for _ in range(100):
        if queue.waiting == waiting:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{queue.waiting} getters wait, not {waiting}")


async def test_a_returned_connection_goes_to_the_longest_waiter_not_a_newcomer() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=2)
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await settle(queue, 3)
    queue.put_nowait("first")
    queue.put_nowait("second")
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    assert [await getters[0], await getters[1]] == ["first", "second"]
    queue.put_nowait("third")
    assert await getters[2] == "third"


async def test_a_connection_handed_to_a_waiter_that_timed_out_goes_to_the_next() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=1)
    late, next_in_line = asyncio.create_task(queue.get()), asyncio.create_task(queue.get())
    await settle(queue, 2)
    queue.put_nowait("connection")
    late.cancel()
    with pytest.raises(asyncio.CancelledError):
        await late
    assert await next_in_line == "connection"
    assert queue.empty()


async def test_idle_connections_are_kept_up_to_the_pool_size() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=1)
    queue.put_nowait("kept")
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait("overflow")
    assert queue.get_nowait() == "kept"


@pytest.fixture
async def starved_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app with a one-connection pool that gives up waiting almost at once."""
    app = create_app(settings_for(database_url))
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.engine.pool, FairAsyncQueuePool)
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
