"""Alembic environment: async, targets SQLModel.metadata, never through a transaction pooler."""

import asyncio
import os
from typing import Any, Literal

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.models import metadata
from db.url import DatabaseUrlError, parse_database_url

config = context.config

# Schemas that Supabase manages. Autogenerate must neither create nor drop anything in them.
MANAGED_SCHEMAS = frozenset(
    {
        "auth",
        "storage",
        "realtime",
        "extensions",
        "graphql",
        "graphql_public",
        "vault",
        "supabase_functions",
        "supabase_migrations",
        "net",
        "cron",
        "pgbouncer",
        "pgsodium",
        "pgsodium_masks",
        "_realtime",
        "_analytics",
        "information_schema",
        "pg_catalog",
    }
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    schema = getattr(obj, "schema", None)
    if type_ == "table" and schema in MANAGED_SCHEMAS:
        return False
    table = getattr(obj, "table", None)
    return not (table is not None and getattr(table, "schema", None) in MANAGED_SCHEMAS)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "schema":
        return name not in MANAGED_SCHEMAS
    return True


def database_url() -> str:
    url = (
        config.attributes.get("database_url")
        or os.environ.get("DATABASE_DIRECT_URL")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise SystemExit("Set DATABASE_URL (or DATABASE_DIRECT_URL) to run migrations.")
    return str(url)


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        include_object=include_object,
        include_name=include_name,
        compare_type=True,
        **kwargs,
    )


# A migration waiting on a lock blocks every query queued behind it: give up instead, and
# let the deploy be retried, rather than stall a live API.
LOCK_TIMEOUT = "10s"
# A migration's own work is not cut short by a statement timeout its role may carry: a rewrite
# or an index of a large table takes minutes (see 0006, 0007).
STATEMENT_TIMEOUT = "0"


def lock_timeout() -> str:
    return str(config.attributes.get("lock_timeout", LOCK_TIMEOUT))


def run_migrations_offline() -> None:
    """Emit SQL instead of running it (used to export the Supabase CLI migrations)."""
    url = config.attributes.get("database_url") or "postgresql://localhost/quire"
    target = parse_database_url(str(url))
    configure(url=target.url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        # The Supabase CLI runs each exported revision in a transaction of its own.
        context.execute(f"SET LOCAL lock_timeout = '{lock_timeout()}'")
        context.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    # For the whole session: each revision commits on its own (below).
    connection.exec_driver_sql(f"SET lock_timeout = '{lock_timeout()}'")
    connection.exec_driver_sql(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
    connection.commit()
    # A revision can then validate, in a transaction of its own, a constraint the one before
    # added NOT VALID, without holding the latter's lock; a failed run stops at the last
    # revision that worked.
    configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    pool_mode: Literal["session", "transaction"] | None = (
        "transaction" if os.environ.get("DATABASE_POOL_MODE") == "transaction" else None
    )
    if os.environ.get("DATABASE_DIRECT_URL") or config.attributes.get("database_url"):
        pool_mode = None
    target = parse_database_url(database_url(), pool_mode=pool_mode)
    if target.is_transaction_pooler:
        raise SystemExit(
            "Refusing to migrate through a transaction pooler (port 6543, or pgbouncer=true): set "
            "DATABASE_DIRECT_URL to the direct or session-pooler connection string (port 5432)."
        )
    engine = create_async_engine(
        target.url, connect_args=target.connect_args, poolclass=pool.NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    try:
        asyncio.run(run_async_migrations())
    except DatabaseUrlError as error:
        raise SystemExit(str(error)) from error


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
