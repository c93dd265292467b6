"""`make bench` leaves its database as it found it: the write scenario's posts deleted, and
their dead rows vacuumed away before the next run reads the lists."""

import asyncio
import uuid

import asyncpg

from bench.database import WRITTEN_TABLES, remove_bench_posts
from db import migrate
from db.url import asyncpg_arguments
from tests.support import recreate_database

POST = (
    "INSERT INTO posts (author_id, title, content, slug, is_published) "
    "VALUES ($1, $2, 'A few words of content.', $3, true)"
)


async def _author(connection: asyncpg.Connection, email: str) -> uuid.UUID:
    author_id = uuid.uuid4()
    await connection.execute("INSERT INTO auth.users (id, email) VALUES ($1, $2)", author_id, email)
    await connection.execute(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, 'Writer')", author_id, email
    )
    return author_id


async def test_bench_posts_are_deleted_and_their_tables_vacuumed(direct_url: str) -> None:
    url = await recreate_database(direct_url, "bench_cleanup")
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        bench_author = await _author(connection, "bench-0@quire.test")
        reader = await _author(connection, "reader@example.com")
        for number in range(3):
            await connection.execute(POST, bench_author, f"Bench {number}", f"bench-{number}")
        await connection.execute(POST, reader, "Kept", "kept")
        # This connection's own writes reach the statistics now, not after the vacuum.
        await connection.execute("SELECT pg_stat_force_next_flush()")
        started = await connection.fetchval("SELECT now()")

        removed = await remove_bench_posts(url)

        assert removed == 3
        assert await connection.fetchval("SELECT array_agg(slug) FROM posts") == ["kept"]
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        for table in WRITTEN_TABLES:
            dead = await connection.fetchval(
                "SELECT dead_tuple_count FROM pgstattuple($1::regclass)", f"public.{table}"
            )
            assert dead == 0, table
        # What autovacuum goes by: no dead rows left to count, nothing changed since ANALYZE.
        counted = await connection.fetch(
            "SELECT relname, n_dead_tup, n_mod_since_analyze, last_analyze "
            "FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY($1::text[])",
            list(WRITTEN_TABLES),
        )
        assert len(counted) == len(WRITTEN_TABLES)
        for table in counted:
            assert table["n_dead_tup"] == table["n_mod_since_analyze"] == 0, table
            assert table["last_analyze"] >= started, table
    finally:
        await connection.close()
