"""Connections borrowed for reads alone: returned whole after each statement, replaced when a
read is cut short, failing to connect as SQLAlchemy does."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, read_connection
from db.repositories.rows import CompiledQuery, fetch, fetch_on
from db.url import parse_database_url

ONE = CompiledQuery("SELECT 1", ())
SLOW = CompiledQuery("SELECT pg_sleep(10)", ())


@pytest.fixture
async def one_connection_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds one connection: each borrow gets the previous one's."""
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def test_a_read_runs_outside_any_transaction_and_returns_its_connection(
    one_connection_engine: AsyncEngine,
) -> None:
    pool = one_connection_engine.sync_engine.pool
    async with read_connection(one_connection_engine) as connection:
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
        assert [row[0] for row in await fetch_on(connection, ONE, {})] == [1]
        assert not connection.is_in_transaction()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_read_cut_short_leaves_a_working_connection_to_the_next(
    one_connection_engine: AsyncEngine,
) -> None:
    """A cancelled query leaves its connection mid-way: it is closed, not lent in that state."""
    async with read_connection(one_connection_engine) as first:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await fetch_on(first, SLOW, {})
    assert first.is_closed()

    async with read_connection(one_connection_engine) as second:
        assert second is not first
        assert [row[0] for row in await fetch_on(second, ONE, {})] == [1]


async def test_a_failed_connect_is_a_database_error(database_url: str) -> None:
    """As `engine.connect()` raises it, so that the API answers it like any database error."""
    missing = parse_database_url(database_url).with_database("quire_no_such_database")
    engine = create_engine(missing)
    try:
        with pytest.raises(DBAPIError) as raised:
            async with read_connection(engine):
                pass  # pragma: no cover
    finally:
        await engine.dispose()
    # PostgreSQL says 3D000 (no such database); PgBouncer, in front of it, 08P01.
    assert getattr(raised.value.orig, "sqlstate", None) in {"3D000", "08P01"}


async def test_a_read_through_the_engine_borrows_a_connection_for_its_statement_alone(
    one_connection_engine: AsyncEngine,
) -> None:
    pool = one_connection_engine.sync_engine.pool
    assert [row[0] for row in await fetch(one_connection_engine, ONE, {})] == [1]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await fetch(one_connection_engine, SLOW, {})
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert [row[0] for row in await fetch(one_connection_engine, ONE, {})] == [1]
