"""Prepared statements behind a transaction pooler: no client ever meets another's statements.

`make test-pooler` runs these (and every other test) through PgBouncer in transaction mode,
where asyncpg's default settings fail; against a direct connection they pass too.
"""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.url import PoolMode, asyncpg_arguments
from tests.conftest import POOL_MODE

# More clients than the pooler has server connections (20 in `make test-pooler`), so
# consecutive transactions of one client land on different servers.
CLIENTS = 24
ROUNDS = 15

# Only meaningful through a transaction pooler: `make test-pooler` runs it, `make test` leaves
# it out (see `pytest_collection_modifyitems` in tests/conftest.py).
through_transaction_pooler = pytest.mark.pooler


async def statements_left_behind(engine: AsyncEngine) -> list[str]:
    """Run statements, one of them needing asyncpg's type introspection; list what stays named."""
    statement = text("SELECT CAST(:n AS int), CAST(:doc AS jsonb), CAST('calm' AS probe_mood)")
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text("CREATE TYPE probe_mood AS ENUM ('calm')"))
        for n in range(3):
            await connection.execute(statement, {"n": n, "doc": "{}"})
        names = await connection.scalars(text("SELECT name FROM pg_prepared_statements"))
        left_behind = list(names)
        await transaction.rollback()
    return left_behind


@pytest.mark.parametrize(("mode", "leaves_statements"), [("session", True), ("transaction", False)])
async def test_only_transaction_mode_leaves_no_named_statement_on_the_server(
    direct_url: str, mode: PoolMode, leaves_statements: bool
) -> None:
    """Session mode shows what the probe catches; transaction mode must leave nothing.

    A statement left on a server connection is what the next client of a transaction pooler
    collides with ("already exists", or runs someone else's statement) or what piles up.
    """
    # A direct connection: a fresh server session holding only this engine's statements.
    engine = create_engine(direct_url, pool_mode=mode, use_pool=False)
    try:
        names = await statements_left_behind(engine)
    finally:
        await engine.dispose()
    assert bool(names) is leaves_statements, names


async def run_client(engine: AsyncEngine, number: int) -> None:
    """One client's statements: a shape of its own, so a leaked statement cannot fit."""
    parameters = {f"p{i}": number * 1000 + i for i in range(number % 3 + 1)}
    terms = " + ".join(f"CAST(:{name} AS bigint)" for name in parameters)
    statement = text(f"SELECT {terms} + {number}")
    expected = sum(parameters.values()) + number
    for _ in range(ROUNDS):
        async with engine.connect() as connection:
            assert await connection.scalar(statement, parameters) == expected
            assert await connection.scalar(text("SELECT CAST(:n AS int)"), {"n": number}) == number


async def test_concurrent_clients_only_ever_see_their_own_results(database_url: str) -> None:
    engine = create_engine(database_url, pool_mode=POOL_MODE, pool_size=CLIENTS, max_overflow=0)
    try:
        await asyncio.gather(*(run_client(engine, number) for number in range(CLIENTS)))
    finally:
        await engine.dispose()


@through_transaction_pooler
async def test_the_pooler_hands_one_server_connection_to_several_clients(
    engine: AsyncEngine,
) -> None:
    """Proof that the run goes through a transaction pooler, not straight to PostgreSQL."""
    backend = text("SELECT pg_backend_pid()")
    async with engine.connect() as first, engine.connect() as second:
        first_pid = await first.scalar(backend)
        await first.commit()
        second_pid = await second.scalar(backend)
        await second.commit()
    assert first_pid == second_pid


async def test_plain_asyncpg_connects_with_a_transaction_pooler_url(database_url: str) -> None:
    """The seed, the bench and the test harness connect with asyncpg itself: a pooler URL
    must give them asyncpg's arguments, not the SQLAlchemy dialect's."""
    url = f"{database_url}{'&' if '?' in database_url else '?'}pgbouncer=true"
    arguments = asyncpg_arguments(url)
    assert arguments["statement_cache_size"] == 0
    connection = await asyncpg.connect(**arguments)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
