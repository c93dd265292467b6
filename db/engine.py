"""Engine and session factories. The URL is passed in: nothing here is global."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from db.url import PoolMode, parse_database_url


def create_engine(
    database_url: str,
    *,
    pool_mode: PoolMode | None = None,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    echo: bool = False,
    use_pool: bool = True,
) -> AsyncEngine:
    """An asyncpg engine for a pasted connection string, pinged before each checkout."""
    target = parse_database_url(database_url, pool_mode=pool_mode)
    pool_args: dict[str, Any] = (
        {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
        if use_pool
        else {"poolclass": NullPool}
    )
    return create_async_engine(
        target.url,
        connect_args=target.connect_args,
        pool_pre_ping=True,
        echo=echo,
        **pool_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
