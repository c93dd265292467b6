"""The hottest reads: a Core statement compiled once, its rows fetched straight from asyncpg.

Lists, a post's page, and the tag and author rankings are one SELECT each, read as plain
rows. SQLAlchemy still builds and
compiles their statements, once per shape; only the execution skips its layers (execution
context, prepared-statement cache, cursor adapter, result processing): 0.57M of the 4.37M
instructions a list_posts request cost, plus the BEGIN/COMMIT round trips that SQLAlchemy's
asyncpg adapter issues around it (`make instructions`, bench/README.md).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, Integer, literal_column
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

# SQLAlchemy leaves the dialect's constructor unannotated.
_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


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
        compiled = statement.compile(dialect=_DIALECT)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError(f"not a statement asyncpg can run: {statement}")
        # A statement is compiled once and run for every caller: a value bound into it (a
        # Python value compared with a column) would serve the first caller's to all of them.
        if baked := [name for name, bind in compiled.binds.items() if not bind.required]:
            raise TypeError(f"values bound into a shared statement: {baked}; use bindparam()")
        return cls(str(compiled), tuple(compiled.positiontup))


async def fetch(
    session: AsyncSession, query: CompiledQuery, values: Mapping[str, Any]
) -> list[asyncpg.Record]:
    """The query's rows, read on the session's connection.

    Inside the session's transaction when one has begun. Otherwise (a request that only reads)
    the SELECT runs on its own, as one statement, without the BEGIN and COMMIT round trips it
    does not need. Behind a transaction pooler that is safe too: asyncpg sends an unnamed
    statement's Parse again in the same batch as its Bind, Execute and Sync (see
    `db.url.transaction_pooler_args`).
    """
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    arguments = [values[name] for name in query.parameters]
    try:
        rows: list[asyncpg.Record] = await driver.fetch(query.sql, *arguments)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        # Failing as SQLAlchemy's statements do, so callers handle one kind of database error
        # (the API answers a server shut down or a connection lost with 503, by SQLSTATE).
        raise DBAPIError(query.sql, arguments, error) from error
    return rows
