"""Helpers for races: accounts and statements committed for real, requests held at a lock."""

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


async def register(engine: AsyncEngine, count: int = 1) -> list[tuple[uuid.UUID, str]]:
    accounts = [(uuid.uuid4(), f"racer-{uuid.uuid4().hex[:8]}@example.com") for _ in range(count)]
    async with engine.begin() as connection:
        for account_id, email in accounts:
            await connection.execute(
                text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
                {"id": account_id, "email": email},
            )
    return accounts


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def execute(engine: AsyncEngine, sql: str, **params: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), params)


async def wait_for_lock_waits(connection: AsyncConnection, count: int) -> None:
    """Return once `count` backends of this database wait for a lock (the requests a test
    holds back), so that the test can release them all at the same moment."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(1000):
        # A transaction sees one snapshot of the activity statistics unless it clears it.
        await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        if (await connection.execute(waiting)).scalar_one() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} requests never came to wait for a lock")
