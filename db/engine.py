"""Engine and session factories. The URL is passed in: nothing here is global."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.pool import FairAsyncQueuePool
from db.url import PoolMode, parse_database_url


def create_engine(
    database_url: str,
    *,
    pool_mode: PoolMode | None = None,
    pool_size: int = 20,
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
