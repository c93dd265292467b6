"""Engine, sessions, and connections for reads. The URL is passed in: nothing here is global."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from db.pool import FairAsyncQueuePool
from db.url import PoolMode, parse_database_url


def create_engine(
    database_url: str,
    *,
    pool_mode: PoolMode | None = None,
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 5.0,
    echo: bool = False,
    use_pool: bool = True,
) -> AsyncEngine:
    """An asyncpg engine for a pasted connection string; closed connections are never lent."""
    target = parse_database_url(database_url, pool_mode=pool_mode)
    pool_args: dict[str, Any] = (
        {
            "poolclass": FairAsyncQueuePool,
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
        }
        if use_pool
        else {"poolclass": NullPool}
    )
    engine = create_async_engine(
        target.url, connect_args=target.connect_args, echo=echo, **pool_args
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Make the pool replace a connection the server (or a pooler) has closed.

    Instead of `pool_pre_ping`, whose ping costs three round trips (BEGIN, `;`, ROLLBACK) on
    every checkout: a quarter of the list page's CPU under `make bench`. A server that closes
    a connection (restart, idle timeout) sends a FIN that asyncpg has already seen, so the
    check is local; the pool retries the checkout with a fresh connection.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection from the engine's pool for reads alone: no session, no transaction.

    For requests that only read (`db.repositories.rows`). Borrowing one through a session
    costs the session, its transaction's bookkeeping and the commit of nothing: 250 µs
    against 33 µs a borrow here, and 3.37M against 2.96M instructions a list page
    (`make instructions`).
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = await engine.raw_connection()
    except dbapi_error as error:
        # As `engine.connect()` raises a failed connect (the server down, starting up, out of
        # connections), so that callers handle one kind of database error.
        raise DBAPIError.instance(None, None, error, dbapi_error) from error
    try:
        yield connection.driver_connection
    finally:
        # Returned to the pool, a connection may be closed (an overflow one, or one found
        # broken), which awaits the driver: SQLAlchemy does that only under greenlet_spawn.
        await greenlet_spawn(connection.close)
