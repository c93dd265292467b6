"""Fixtures and helpers the security tests share."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from db.url import asyncpg_arguments
from tests.conftest import settings_for
from tests.support import run_sql


@pytest.fixture(scope="session")
async def app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    """The app, as in tests/conftest.py, keeping the avatars it stores in a temporary folder."""
    settings = settings_for(database_url)
    settings.app.media_dir = tmp_path_factory.mktemp("media")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def register_admin(url: str, email: str) -> uuid.UUID:
    """An account in auth.users whose users row is an admin, committed at `url`."""
    account_id = uuid.uuid4()
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await connection.execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)", account_id, email
        )
        await connection.execute(
            "INSERT INTO users (id, email, name, role) VALUES ($1, $2, 'Fuzz', 'admin')",
            account_id,
            email,
        )
    finally:
        await connection.close()
    return account_id


# Every table the API writes, plus the accounts it reads.
TABLES = ("auth.users", "users", "user_profiles", "posts", "tags", "post_tags")

Snapshot = dict[str, list[dict[str, Any]]]


async def snapshot(session: AsyncSession) -> Snapshot:
    """Every row of every table, in a stable order, to compare before and after a request."""
    rows: Snapshot = {}
    for table in TABLES:
        result = await run_sql(session, f"SELECT * FROM {table} ORDER BY 1, 2")
        rows[table] = [dict(row._mapping) for row in result]
    return rows


async def set_user(session: AsyncSession, user_id: str, assignment: str) -> None:
    """Change a user's row directly (role, status, last seen) and commit it to the test."""
    await run_sql(session, f"UPDATE users SET {assignment} WHERE id = :id", id=uuid.UUID(user_id))
    await session.commit()
