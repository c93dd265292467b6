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
    async with asyncio.timeout(5):
        assert await next_in_line == "connection"
    assert queue.empty()


async def test_a_waiter_that_gave_up_before_a_connection_came_is_skipped() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=1)
    gone = asyncio.create_task(queue.get())
    await settle(queue, 1)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    live = asyncio.create_task(queue.get())
    await settle(queue, 1)
    queue.put_nowait("connection")
    async with asyncio.timeout(5):
        assert await live == "connection"


async def test_idle_connections_are_lent_oldest_first() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=3)
    queue.put_nowait("older")
    queue.put_nowait("newer")
    assert queue.get_nowait() == "older"
    queue.put_nowait("newest")
    assert await queue.get() == "newer"


async def test_idle_connections_are_kept_up_to_the_pool_size() -> None:
    queue: HandoffQueue[str] = HandoffQueue(maxsize=1)
    queue.put_nowait("kept")
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait("overflow")
    assert queue.get_nowait() == "kept"


async def test_the_engines_pool_serves_a_waiting_checkout_before_a_newcomer(
    database_url: str,
) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=5)
    order: list[str] = []

    async def wait_in_line() -> None:
        async with engine.connect():
            order.append("waiter")

    try:
        held = await engine.connect()
        waiter = asyncio.create_task(wait_in_line())
        await asyncio.sleep(0.1)  # the pool is full: the waiter gets in line without I/O
        await held.close()
        async with engine.connect():
            order.append("newcomer")
        await waiter
    finally:
        await engine.dispose()
    assert order == ["waiter", "newcomer"]


async def test_overflow_connections_are_closed_when_returned(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=1)
    try:
        first, second = await engine.connect(), await engine.connect()
        await first.close()
        await second.close()
        assert isinstance(engine.pool, FairAsyncQueuePool)
        assert engine.pool.checkedin() == 1
    finally:
        await engine.dispose()


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
