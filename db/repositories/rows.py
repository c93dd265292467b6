"""The hottest reads: a Core statement compiled once, its rows fetched straight from asyncpg.

Lists, a post's page, and the tag and author rankings are one SELECT each, read as plain
rows. SQLAlchemy still builds and compiles their statements, once per shape; only the
execution skips its layers (execution context, prepared-statement cache, cursor adapter,
result processing): 0.57M of the 4.37M instructions a list_posts request cost, plus the
BEGIN/COMMIT round trips that SQLAlchemy's asyncpg adapter issues around it
(`make instructions`, bench/README.md).

They run on a `Reader`: a request's session, inside its transaction once one has begun, or,
for a request that only reads, the engine, from whose pool each read borrows a connection
for its one statement (`db.engine.read_connection`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from sqlalchemy import ColumnElement, Integer, literal_column
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import read_connection

# How statements are compiled for asyncpg (SQLAlchemy leaves its constructor unannotated).
DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


# Statements compiled once per shape and page size are kept in LRU caches of this size: the
# API allows page sizes from 1 to 100, and the bound keeps an unusual client from filling
# memory.
STATEMENT_CACHE_SIZE = 512


def sql_integer(value: int) -> ColumnElement[int]:
    """An integer written into a statement's SQL: a shared statement binds no values (see
    `CompiledQuery.of`), and PostgreSQL plans a written page size better than a bound one."""
    return literal_column(str(int(value)), Integer())


@dataclass(frozen=True)
class CompiledQuery:
    """A statement as asyncpg runs it: SQL with `$1`, `$2`… and its parameters' names in order."""

    sql: str
    parameters: tuple[str, ...]

    @classmethod
    def of(cls, statement: ClauseElement) -> "CompiledQuery":
        compiled = statement.compile(dialect=DIALECT)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError(f"not a statement asyncpg can run: {statement}")
        # A statement is compiled once and run for every caller: a value bound into it (a
        # Python value compared with a column) would serve the first caller's to all of them.
        if baked := [name for name, bind in compiled.binds.items() if not bind.required]:
            raise TypeError(f"values bound into a shared statement: {baked}; use bindparam()")
        return cls(str(compiled), tuple(compiled.positiontup))


class StatementTimedOut(Exception):
    """PostgreSQL did not answer within the statement's time limit; the statement was cancelled."""


# What a read runs on: a session, or the engine of a request that only reads.
Reader: TypeAlias = AsyncSession | AsyncEngine


async def fetch(
    reader: Reader,
    query: CompiledQuery,
    values: Mapping[str, Any],
    *,
    time_limit: float | None = None,
) -> list[asyncpg.Record]:
    """The query's rows, read on the session's connection, inside its transaction when one has
    begun, or on a connection borrowed from the engine's pool for this one statement.

    A statement still running after `time_limit` seconds is cancelled: StatementTimedOut.
    """
    if isinstance(reader, AsyncEngine):
        async with read_connection(reader) as connection:
            return await fetch_on(connection, query, values, time_limit=time_limit)
    return await fetch_on(await _driver(reader), query, values, time_limit=time_limit)


async def fetch_on(
    driver: asyncpg.Connection,
    query: CompiledQuery,
    values: Mapping[str, Any],
    *,
    time_limit: float | None = None,
) -> list[asyncpg.Record]:
    """The query's rows, read on that connection.

    On a borrowed connection, outside any transaction, the SELECT runs on its own, as one
    statement, without the BEGIN and COMMIT round trips it does not need. Behind a transaction
    pooler that is safe too: asyncpg sends an unnamed statement's Parse again in the same
    batch as its Bind, Execute and Sync (see `db.url.transaction_pooler_args`).
    """
    arguments = [values[name] for name in query.parameters]
    try:
        rows: list[asyncpg.Record] = await driver.fetch(query.sql, *arguments, timeout=time_limit)
    except TimeoutError as error:
        # asyncpg has had the server cancel the statement, and the connection is ready again: a
        # client's disconnect alone would not stop a statement that has no row to send yet.
        raise StatementTimedOut(query.sql) from error
    except asyncpg.PostgresError as error:
        # Failing as SQLAlchemy's statements do, so callers handle one kind of database error
        # (the API answers a server shut down or a connection lost with 503, by SQLSTATE).
        raise DBAPIError(query.sql, arguments, error) from error
    except BaseException as error:
        # Cut short otherwise (the connection lost, the request cancelled), the connection may
        # be left in the middle of the query. Closed here, the pool replaces it (`db.engine`)
        # instead of lending it to a request that would fail on it.
        driver.terminate()
        if isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError):
            raise DBAPIError(query.sql, arguments, error) from error
        raise
    return rows


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    return driver
