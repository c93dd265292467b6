"""The bench's database: an embedded server of its own, a database per size, seeded once.

The embedded server lives in `.data/bench-postgres` (dev data stays untouched) and preloads
`pg_stat_statements`, which counts the SQL statements each request costs on the server side.
With DATABASE_URL set, its server is used instead (statements are counted when that server
has pg_stat_statements loaded, and reported as unknown otherwise).
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from api.auth import issue_token
from bench.scenarios import Fixtures
from db import migrate
from db.embedded import EmbeddedPostgres
from db.seed import seed, tag_names
from db.url import asyncpg_arguments, parse_database_url

DATA_DIR = Path(".data/bench-postgres")
PORT = 54330
ACCOUNTS = 32
ACCOUNT_EMAIL = "bench-{}@quire.test"
TOKEN_SECONDS = 3600
SAMPLE = 1000
# What create_post writes: its posts and links, and the counts its authors and tags keep.
WRITTEN_TABLES = ("posts", "post_tags", "users", "tags")


@contextmanager
def bench_server() -> Iterator[str]:
    """The URL of a maintenance database on the server the bench uses."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres(DATA_DIR.resolve(), PORT)
    server.start()
    preload = server.psql("-tAc", "SHOW shared_preload_libraries").strip()
    if "pg_stat_statements" not in preload:
        server.psql("-c", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        server.stop()
        server.start()
    try:
        yield server.url()
    finally:
        server.stop()


async def create_database(maintenance_url: str, name: str) -> str:
    connection = await asyncpg.connect(**asyncpg_arguments(maintenance_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return parse_database_url(maintenance_url).with_database(name)


def migrate_database(url: str) -> None:
    migrate.upgrade(url)


async def fill(url: str, posts: int) -> int:
    """Seed up to `posts` posts; return how many were added."""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        missing = posts - int(await connection.fetchval("SELECT count(*) FROM posts"))
    finally:
        await connection.close()
    if missing <= 0:
        return 0
    await seed(url, missing)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        # Sets the visibility map, so the plans measured are those of a settled table.
        await connection.execute("VACUUM (ANALYZE) users, user_profiles, posts, tags, post_tags")
    finally:
        await connection.close()
    return missing


async def fixtures(url: str, secret: str) -> Fixtures:
    """Tags, authors and posts to request, and tokens of bench accounts."""
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        slugs = await connection.fetch(
            "SELECT slug FROM tags WHERE lower(name) = ANY($1::text[]) ORDER BY slug",
            [name.lower() for name in tag_names()],
        )
        authors = await connection.fetch(
            "SELECT DISTINCT author_id FROM (SELECT author_id FROM posts WHERE is_published "
            "ORDER BY published_at DESC LIMIT $1) recent",
            SAMPLE,
        )
        # Posts spread over the whole table, not only the recent (and cached) ones.
        posts = await connection.fetch(
            "SELECT slug FROM posts WHERE is_published ORDER BY md5(slug) LIMIT $1", SAMPLE
        )
        tokens = await _accounts(connection, secret)
    finally:
        await connection.close()
    return Fixtures(
        tag_slugs=[row["slug"] for row in slugs],
        author_ids=[str(row["author_id"]) for row in authors],
        post_slugs=[row["slug"] for row in posts],
        tokens=tokens,
    )


async def _accounts(connection: asyncpg.Connection, secret: str) -> list[str]:
    emails = [ACCOUNT_EMAIL.format(number) for number in range(ACCOUNTS)]
    await connection.execute(
        "INSERT INTO auth.users (id, email) "
        "SELECT gen_random_uuid(), email FROM unnest($1::text[]) email "
        "WHERE NOT EXISTS (SELECT FROM auth.users a WHERE a.email = email.email)",
        emails,
    )
    rows = await connection.fetch(
        "SELECT id, email FROM auth.users WHERE email = ANY($1::text[]) ORDER BY email", emails
    )
    return [
        issue_token(row["id"], row["email"], secret=secret, expires_in=TOKEN_SECONDS)
        for row in rows
    ]


async def remove_bench_posts(url: str) -> int:
    """Delete what the write scenario created, then vacuum, so every run starts from the same
    data in the same state.

    The deleted posts were the newest: left to autovacuum, their dead rows headed the index
    every list reads, and the next run measured its first scenarios while they were still
    there (list_posts 1,131-1,447 req/s with 0.49-0.64 ms of PostgreSQL's CPU a page, against
    1,477-1,590 and 0.35-0.40 ms once vacuumed; bench/README.md).
    """
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        status = await connection.execute(
            "DELETE FROM posts WHERE author_id IN "
            "(SELECT id FROM auth.users WHERE email LIKE 'bench-%@quire.test')"
        )
        # The deletion's counts reach the statistics up to a second later unless flushed now,
        # and would then tell autovacuum of thousands of dead rows the vacuum has removed: it
        # vacuumed and analyzed those tables again at the start of the next run.
        await connection.execute("SELECT pg_stat_force_next_flush()")
        await connection.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN_TABLES)}")
    finally:
        await connection.close()
    return int(status.split()[-1])


@dataclass(frozen=True)
class StatementCount:
    per_request: float
    statements: list[dict[str, Any]]


class StatementCounter:
    """Server-side statement counts from pg_stat_statements, when the server has it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.available = False

    async def enable(self) -> bool:
        connection = await asyncpg.connect(**asyncpg_arguments(self.url))
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await connection.fetchval("SELECT count(*) FROM pg_stat_statements")
            self.available = True
        except asyncpg.PostgresError:
            self.available = False
        finally:
            await connection.close()
        return self.available

    async def reset(self) -> None:
        if self.available:
            await self._fetch("SELECT pg_stat_statements_reset()")

    async def read(self, requests: int) -> StatementCount | None:
        if not self.available or requests == 0:
            return None
        rows = await self._fetch(
            "SELECT query, calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT ILIKE '%pg_stat_statements%' ORDER BY calls DESC"
        )
        total = sum(row["calls"] for row in rows)
        statements = [
            {"calls_per_request": round(row["calls"] / requests, 2), "query": _short(row["query"])}
            for row in rows
            if row["calls"] / requests >= 0.01
        ]
        return StatementCount(per_request=round(total / requests, 2), statements=statements)

    async def _fetch(self, query: str) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(**asyncpg_arguments(self.url))
        try:
            return list(await connection.fetch(query))
        finally:
            await connection.close()


def _short(query: str, length: int = 160) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def new_secret() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex
