"""Reads run on asyncpg itself: compiled once, in the session's transaction, failing like
SQLAlchemy's statements."""

import pytest
from sqlalchemy import Integer, bindparam, func, literal_column, select, table
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.repositories.rows import CompiledQuery, fetch


def test_a_statement_compiles_to_numbered_parameters_in_order() -> None:
    statement = select(
        bindparam("second", type_=Integer()) - bindparam("first", type_=Integer())
    ).where(bindparam("first", type_=Integer()) > literal_column("0"))

    query = CompiledQuery.of(statement)

    assert "$1" in query.sql
    assert "$2" in query.sql
    assert query.parameters == ("second", "first")


def test_a_value_bound_into_a_statement_is_refused() -> None:
    """Compiled once, a statement would run with its first caller's value for everyone."""
    with pytest.raises(TypeError, match="values bound into a shared statement"):
        CompiledQuery.of(select(literal_column("1")).where(literal_column("2") > 0))


async def test_rows_come_back_with_the_values_bound_by_name(session: AsyncSession) -> None:
    statement = select(
        (bindparam("a", type_=Integer()) * bindparam("b", type_=Integer())).label("product")
    )

    rows = await fetch(session, CompiledQuery.of(statement), {"b": 6, "a": 7, "unused": 0})

    assert [row["product"] for row in rows] == [42]


async def test_a_read_sees_the_session_s_uncommitted_writes(session: AsyncSession) -> None:
    connection = await session.connection()
    await connection.exec_driver_sql("CREATE TEMP TABLE scratch (n int) ON COMMIT DROP")
    await connection.exec_driver_sql("INSERT INTO scratch VALUES (1), (2)")
    query = CompiledQuery.of(select(func.count()).select_from(table("scratch")))

    [row] = await fetch(session, query, {})

    assert row[0] == 2


async def test_a_database_error_is_sqlalchemy_s_with_its_sqlstate(session: AsyncSession) -> None:
    query = CompiledQuery.of(select(literal_column("1 / 0")))

    with pytest.raises(DBAPIError) as raised:
        await fetch(session, query, {})

    assert getattr(raised.value.orig, "sqlstate", None) == "22012"
