"""A migration that cannot get its lock gives up instead of stalling the live API behind it."""

import asyncio

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from db import migrate
from db.url import asyncpg_arguments
from tests.support import recreate_database


async def test_a_migration_waiting_on_a_lock_gives_up(direct_url: str) -> None:
    url = await recreate_database(direct_url, "locked")
    holder = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await holder.execute("CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY)")
        async with holder.transaction():
            # What a busy API holds for a moment; here, for longer than the migration waits.
            await holder.execute("LOCK TABLE auth.users IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(DBAPIError, match="lock timeout"):
                await asyncio.to_thread(migrate.upgrade, url, lock_timeout="200ms")
        missing = await holder.fetchval("SELECT to_regclass('public.users') IS NULL")
        assert missing, "the aborted run must leave nothing half-made"
    finally:
        await holder.close()
