"""Fill a database with a realistic data set, fast: N posts by N/10 users, through COPY.

Every post has ~1 KB of content, 3 of 200 tags and, for nine in ten, a `published_at` within
the last two years; every user has an `auth.users` account and a profile. Rows are generated
in Python and streamed with asyncpg's binary COPY: users and tags in one transaction, then the
posts over one connection per core, each connection in a transaction of its own. An
interrupted seed keeps its users and the posts of any connection that finished its share, and
its indexes are rebuilt all the same. When the load at least doubles the posts, the secondary
indexes are dropped first and rebuilt afterwards (one sort per index instead of a million
inserts), and a superuser skips per-row triggers as `pg_restore --disable-triggers` does: the
published-post counts those triggers keep are recomputed at the end either way.
"""

import argparse
import asyncio
import copy
import os
import random
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from tqdm import tqdm

from db.models.auth import SUPABASE_AUTH_PROBE
from db.models.user import NAME_MAX
from db.repositories.tags import tag_slug
from db.url import asyncpg_arguments

TAG_COUNT = 200
TAGS_PER_POST = 3
POSTS_PER_USER = 10
DRAFT_EVERY = 10  # one post in ten is a draft: 90% published
CONTENT_CHARS = 1000
SPAN = timedelta(days=730)
CHUNK = 20_000
# The tables whose secondary indexes a large load rebuilds, and the work memory for that.
REBUILT_TABLES = ("posts", "post_tags")
MAINTENANCE_WORK_MEM = "512MB"

TOPIC_WORDS = (
    "python postgres sql index query cache async http api design testing security performance "
    "latency database schema migration cloud linux network storage search rust go javascript "
    "typescript css browser mobile data analytics machine learning privacy auth tokens "
    "kubernetes docker queue streaming logging monitoring"
)
TOPICS = TOPIC_WORDS.split()
POST_COLUMNS = (
    "id", "author_id", "title", "content", "slug",
    "is_published", "published_at", "created_at", "updated_at",
)  # fmt: skip
# A link carries its post's `published_at` while the post is published (migration 0006).
LINK_COLUMNS = ("post_id", "tag_id", "post_published_at")
TAG_FORMS = ("{}", "{} tips", "learning {}", "{} internals", "{} in practice")
SYLLABLES = (
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "do", "pe",
    "la", "tor", "ven", "mar", "sil", "cor", "dan", "fel", "gra", "pol",
)  # fmt: skip


class SeedRefused(RuntimeError):
    """The database is not one to fill with sample data; the message says why."""


@dataclass(frozen=True)
class SeedReport:
    users: int
    posts: int
    seconds: float

    def summary(self) -> str:
        rate = self.posts / self.seconds if self.seconds else 0
        return (
            f"seeded {self.posts} posts and {self.users} users in {self.seconds:.1f} s "
            f"({rate:,.0f} posts/s)"
        )


def tag_names() -> list[str]:
    """200 distinct tag names, the same on every run."""
    names = [form.format(topic) for form in TAG_FORMS for topic in dict.fromkeys(TOPICS)]
    return names[:TAG_COUNT]


class Generator:
    """Random but plausible values: text is cut from one Zipf-distributed corpus."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = datetime.now(UTC)
        pseudo = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 3))) for _ in range(4000)})
        # Topic words rank after the hundred most common words: each is in about one post in
        # six, so a search for one has many matches at any size.
        vocabulary = [*pseudo[:100], *dict.fromkeys(TOPICS), *pseudo[100:]]
        weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
        self.corpus = " ".join(rng.choices(vocabulary, weights=weights, k=300_000))
        self.starts = [0, *(i + 1 for i, char in enumerate(self.corpus) if char == " ")]
        self.limit = len(self.starts) - 200

    def fork(self, seed: int) -> "Generator":
        """The same corpus and clock, with a random stream of its own."""
        forked = copy.copy(self)
        forked.rng = random.Random(seed)  # noqa: S311  # nosec B311  # reproducible sample data
        return forked

    def text(self, length: int) -> str:
        start = self.starts[self.rng.randrange(self.limit)]
        end = self.corpus.find(" ", start + length)
        return self.corpus[start:end]

    def moment(self) -> datetime:
        return self.now - SPAN * self.rng.random()

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


async def seed(
    url: str, posts: int, *, progress: bool = True, random_seed: int | None = None
) -> SeedReport:
    """Add `posts` posts (and a tenth as many users) to the database at `url`."""
    started = time.monotonic()
    # Sample data, reproducible from `random_seed`: no secret depends on it.
    generator = Generator(random.Random(random_seed))  # noqa: S311  # nosec B311  # reproducible sample data
    users = max(1, posts // POSTS_PER_USER)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await _refuse_supabase_auth(connection)
        async with connection.transaction():
            await _prepare(connection)
            tag_ids = await _upsert_tags(connection)
            user_ids = await _copy_users(connection, generator, users)
            rebuild = await _count_posts(connection) < posts
            indexes = await _drop_secondary_indexes(connection) if rebuild else []
        try:
            with tqdm(total=posts, unit="post", disable=not progress, desc="seed") as bar:
                await _copy_posts(url, generator, posts, user_ids, tag_ids, bar)
        finally:
            async with connection.transaction():
                await _prepare(connection)
                for definition in indexes:
                    await connection.execute(definition)
                await connection.execute("SELECT public.refresh_published_post_counts()")
        await connection.execute("ANALYZE users, user_profiles, posts, tags, post_tags")
    finally:
        await connection.close()
    return SeedReport(users=users, posts=posts, seconds=time.monotonic() - started)


async def _refuse_supabase_auth(connection: asyncpg.Connection) -> None:
    """Refuse a database whose auth.users is Supabase Auth's (it has `instance_id`).

    The seed's accounts fill only the columns Quire reads: Supabase Auth could not read them,
    and its user list would break. supabase/seed.sql writes accounts it can sign in.
    """
    if await connection.fetchval(SUPABASE_AUTH_PROBE):
        raise SeedRefused(
            "This database's auth.users belongs to Supabase Auth, which could not read the "
            "seed's accounts: seed a local database (make seed without DATABASE_URL), or use "
            "supabase/seed.sql for a Supabase one."
        )


async def _prepare(connection: asyncpg.Connection) -> None:
    await connection.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    # The indexes dropped for the load are rebuilt afterwards with parallel workers.
    workers = max(1, (os.cpu_count() or 1))
    await connection.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
    if await connection.fetchval("SELECT current_setting('is_superuser') = 'on'"):
        await connection.execute("SET LOCAL session_replication_role = replica")


async def _count_posts(connection: asyncpg.Connection) -> int:
    return int(await connection.fetchval("SELECT count(*) FROM posts"))


async def _upsert_tags(connection: asyncpg.Connection) -> list[uuid.UUID]:
    names = tag_names()
    slugs = [tag_slug(name) for name in names]
    await connection.execute(
        "INSERT INTO tags (name, slug) SELECT * FROM unnest($1::text[], $2::text[]) "
        "ON CONFLICT DO NOTHING",
        names,
        slugs,
    )
    rows = await connection.fetch(
        "SELECT id FROM tags WHERE lower(name) = ANY($1::text[]) ORDER BY name",
        [name.lower() for name in names],
    )
    return [row["id"] for row in rows]


async def _copy_users(
    connection: asyncpg.Connection, generator: Generator, count: int
) -> list[uuid.UUID]:
    run = secrets.token_hex(4)
    rng = generator.rng
    accounts = []
    for number in range(count):
        name = f"{generator.text(4).title()} {generator.text(6).title()}"[:NAME_MAX]
        accounts.append((generator.uuid(), f"reader{number}.{run}@example.com", name))
    joined = [(generator.moment(), account) for account in accounts]
    await connection.copy_records_to_table(
        "users",
        schema_name="auth",
        columns=["id", "email", "created_at"],
        records=[(key, email, at) for at, (key, email, _) in joined],
    )
    await connection.copy_records_to_table(
        "users",
        columns=["id", "email", "name", "created_at", "updated_at"],
        records=[(key, email, name, at, at) for at, (key, email, name) in joined],
    )
    await connection.copy_records_to_table(
        "user_profiles",
        columns=["user_id", "bio"],
        records=[(key, generator.text(rng.randint(40, 300))) for key, _, _ in accounts],
    )
    return [key for key, _, _ in accounts]


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    """Drop the indexes that enforce nothing; return the statements that recreate them.

    A unique index stays even without a constraint behind it (`uq_posts_slug`, migration 0007):
    the API's upserts name it, and slugs must never go unchecked, even if the seed dies.
    """
    rows = await connection.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        WHERE i.indrelid = ANY($1::regclass[])
          AND NOT i.indisunique
          AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        list(REBUILT_TABLES),
    )
    for row in rows:
        await connection.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


async def _copy_posts(
    url: str,
    generator: Generator,
    count: int,
    authors: Sequence[uuid.UUID],
    tags: Sequence[uuid.UUID],
    bar: "tqdm[Any]",
) -> None:
    """COPY the posts and their links, a chunk at a time, over one connection per core.

    PostgreSQL spends most of a post's COPY computing its search document (~0.2 ms per 1 KB
    post): one connection kept one core busy, 4,400 posts/s here. Each chunk has a random
    stream of its own, drawn in order, so a `random_seed` gives the same posts whichever
    connection copies them.
    """
    chunks = [
        (range(start, min(start + CHUNK, count)), generator.rng.getrandbits(64))
        for start in range(0, count, CHUNK)
    ]
    pending = iter(chunks)

    async def copy_chunks() -> None:
        connection = await asyncpg.connect(**asyncpg_arguments(url))
        try:
            async with connection.transaction():
                await _prepare(connection)
                for numbers, chunk_seed in pending:
                    posts, links = await asyncio.to_thread(
                        _post_rows, generator.fork(chunk_seed), numbers, authors, tags
                    )
                    await connection.copy_records_to_table(
                        "posts", columns=POST_COLUMNS, records=posts
                    )
                    await connection.copy_records_to_table(
                        "post_tags", columns=LINK_COLUMNS, records=links
                    )
                    bar.update(len(numbers))
        finally:
            await connection.close()

    connections = min(len(chunks), os.cpu_count() or 1)
    await asyncio.gather(*(copy_chunks() for _ in range(connections)))


def _post_rows(
    generator: Generator,
    numbers: range,
    authors: Sequence[uuid.UUID],
    tags: Sequence[uuid.UUID],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = generator.rng
    posts: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    for number in numbers:
        post_id = generator.uuid()
        title = generator.text(rng.randint(20, 60))
        slug = f"{title.replace(' ', '-')}-{post_id.hex[:16]}"
        published = number % DRAFT_EVERY != DRAFT_EVERY - 1
        at = generator.moment()
        published_at = at if published else None
        created = at - timedelta(seconds=rng.random() * 259_200)
        posts.append(
            (
                post_id,
                rng.choice(authors),
                title.capitalize(),
                generator.text(CONTENT_CHARS),
                slug,
                published,
                published_at,
                created,
                at,
            )
        )
        links.extend((post_id, tag, published_at) for tag in rng.sample(tags, TAGS_PER_POST))
    return posts, links


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m db.seed", description=__doc__)
    parser.add_argument("posts", type=int, help="how many posts to add")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--random-seed", type=int)
    args = parser.parse_args(argv)
    if not args.database_url:
        raise SystemExit("Set DATABASE_URL or pass --database-url.")
    try:
        report = asyncio.run(seed(args.database_url, args.posts, random_seed=args.random_seed))
    except SeedRefused as refusal:
        raise SystemExit(str(refusal)) from None
    print(report.summary())


if __name__ == "__main__":
    main()
