"""Fill a database with a realistic data set, fast: N posts by N/10 users.

Every post has ~1 KB of content, 3 of 200 tags and, for nine in ten, a `published_at` within
the last two years; every user has an `auth.users` account and a profile. Users and tags are
copied in one transaction (asyncpg's binary COPY). Posts are drawn by PostgreSQL itself, over
one connection per core, each in a transaction of its own: a post is a title and two
paragraphs from pools whose search documents are computed once, and its document is theirs
joined, which costs a fraction of `to_tsvector` over the whole post (0018's trigger, skipped
here as below, computes the same document). Posts are committed 50,000 at a time: an
interrupted seed keeps its users and every chunk it committed, and its indexes are rebuilt
all the same; when one connection fails, the other stops too.
When the load at least doubles the posts, the secondary indexes are dropped first and rebuilt
afterwards (one sort per index instead of a million inserts); every seed ends by creating
those the models define and the database lacks, so a seed that was killed mid-load is mended
by the next. A superuser skips per-row triggers as `pg_restore --disable-triggers` does, and
the published-post counts those triggers keep are set at the end: into a database that held
no posts and no counts, from what the seed drew (each post's author is drawn here, so users
are copied with their counts); otherwise, or when the load stopped short, by recounting
every post. Without superuser rights the triggers run: documents are then computed post by
post, more slowly.
"""

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Index
from sqlalchemy.schema import CreateIndex
from tqdm import tqdm

from db.models import SEARCH_CONFIGURATION, metadata
from db.models.auth import SUPABASE_AUTH_PROBE
from db.models.user import NAME_MAX
from db.repositories.posts import base_slug
from db.repositories.rows import DIALECT
from db.repositories.tags import tag_slug
from db.url import asyncpg_arguments

TAG_COUNT = 200
TAGS_PER_POST = 3  # INSERT_POSTS draws three distinct tags a post
POSTS_PER_USER = 10
DRAFT_EVERY = 10  # one post in ten is a draft: 90% published
SPAN = timedelta(days=730)
# Each chunk builds its hash tables over the pools afresh: 50,000 posts amortise that better
# than 20,000 (300k posts, memory as below: 10.0-10.7 s of inserts against 11.3-11.8 s).
CHUNK = 50_000
# A post is one of TITLES titles and two of PARAGRAPHS paragraphs (~1 KB): 50,000 x 13,000^2
# contents. Each piece is one more join and one more document joined for every post: with
# five paragraphs of 195 characters, drawing a post cost PostgreSQL 21 µs, with three of 325
# 17 µs; with two of 490, 1M posts took 49.5-56.0 s against 53.9-61.1 s with three (four
# alternating pairs). 13,000 paragraphs of 490 characters take as long to load as 20,000 of 325.
TITLES = 50_000
PARAGRAPHS = 13_000
PARAGRAPH_CHARS = 490
MIN_POOL = 100  # titles and paragraphs, however few posts
# The tables whose secondary indexes a large load rebuilds, and the work memory for that.
REBUILT_TABLES = ("posts", "post_tags")
MAINTENANCE_WORK_MEM = "512MB"
# Enough for the pools' temporary tables (~20 MB) and the chunk's hash joins over them to stay
# in memory: with the defaults (8 MB, 4 MB) every chunk read them back from files. PostgreSQL
# also keeps a chunk's posts (~130 MB) as the transition table of migration 0003's statement
# trigger, even while session_replication_role skips that trigger: at 64 MB they went to temp
# files, 2.9 GB for 1M posts, and seeds took 0.9-3.1 s longer in four alternating pairs.
TEMP_BUFFERS = "128MB"
WORK_MEM = "256MB"

TOPIC_WORDS = (
    "python postgres sql index query cache async http api design testing security performance "
    "latency database schema migration cloud linux network storage search rust go javascript "
    "typescript css browser mobile data analytics machine learning privacy auth tokens "
    "kubernetes docker queue streaming logging monitoring"
)
TOPICS = TOPIC_WORDS.split()
TAG_FORMS = ("{}", "{} tips", "learning {}", "{} internals", "{} in practice")
SYLLABLES = (
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "do", "pe",
    "la", "tor", "ven", "mar", "sil", "cor", "dan", "fel", "gra", "pol",
)  # fmt: skip
POOL_TABLES = """
CREATE TEMPORARY TABLE seed_titles (n bigint PRIMARY KEY, title text, slug text, document tsvector);
CREATE TEMPORARY TABLE seed_paragraphs (n bigint PRIMARY KEY, content text, document tsvector);
"""
# Posts $1…$2 of the load, one in $8 a draft, post n by author $3[$9[n - $1 + 1]], with tags
# of $4, published over the span $5 before now, from pools of $6 titles and $7 paragraphs, ids
# mixed with the seed's key $10.
# A post's document is its pieces' documents joined, as `to_tsvector` would compute it from
# the whole text (see `indexed_words`); a link carries its post's `published_at` (migration
# 0006). Three distinct tags: a first one, and two distinct steps past it, less than once
# round. It returns the first and last row of each table it wrote (see `_set_hint_bits`).
#
# Ids are UUIDv7 (RFC 9562: the milliseconds since 1970, the version, 12 random bits, the
# variant, 62 random bits), made in the order rows are inserted, so that the primary keys of
# posts and links grow at their right edge instead of at every page at once: 1M posts wrote
# 0.7 GB less WAL and took 40 s of inserts instead of 46. A slug ends with its id's random end.
# The random bits are `random()`'s, the chunk's seeded stream, mixed with a key drawn for each
# seed, so that two seeds from one `random_seed` never share a slug. `gen_random_uuid()` opens
# /dev/urandom for every id in a PostgreSQL built without OpenSSL, as the embedded one is (3.5
# µs an id): 1M posts took 52.2-57.9 s without it, 57.3-65.9 s with it (alternating pairs).
INSERT_POSTS = """
WITH drawn AS MATERIALIZED (
    SELECT encode(int8send(((extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16)
                           | (7 << 12) | floor(random() * 4096)::bigint)
                  || int8send(x'8000000000000000'::bigint
                              | ((floor(random() * 2 ^ 31)::bigint << 31
                                  | floor(random() * 2 ^ 31)::bigint) # $10::bigint)),
                  'hex')::uuid AS id,
           n % $8::int <> $8::int - 1 AS published,
           now() - random() * $5::interval AS at,
           ($9::int[])[n - $1::int + 1] AS author,
           1 + floor(random() * $6::int)::int AS title,
           ARRAY[1 + floor(random() * $7::int)::int,
                 1 + floor(random() * $7::int)::int] AS paragraphs
    FROM generate_series($1::int, $2::int) AS n
), inserted AS (
    INSERT INTO public.posts (id, author_id, title, content, slug, is_published,
                              published_at, created_at, updated_at, search_vector)
    SELECT d.id, ($3::uuid[])[d.author], t.title,
           concat_ws(' ', p1.content, p2.content),
           t.slug || '-' || right(replace(d.id::text, '-', ''), 16),
           d.published, CASE WHEN d.published THEN d.at END,
           d.at - random() * interval '3 days', d.at,
           t.document || p1.document || p2.document
    FROM drawn d
    JOIN pg_temp.seed_titles t ON t.n = d.title
    JOIN pg_temp.seed_paragraphs p1 ON p1.n = d.paragraphs[1]
    JOIN pg_temp.seed_paragraphs p2 ON p2.n = d.paragraphs[2]
    RETURNING id, published_at, ctid
), linked AS (
    INSERT INTO public.post_tags (post_id, tag_id, post_published_at)
    SELECT i.id, ($4::uuid[])[1 + (i.first + picked.step) % cardinality($4::uuid[])], i.published_at
    FROM (
        SELECT id, published_at,
               floor(random() * cardinality($4::uuid[]))::int AS first,
               1 + floor(random() * (cardinality($4::uuid[]) - 1))::int AS a,
               1 + floor(random() * (cardinality($4::uuid[]) - 2))::int AS b
        FROM inserted
    ) i
    CROSS JOIN LATERAL (
        VALUES (0), (least(i.a, i.b + (i.b >= i.a)::int)), (greatest(i.a, i.b + (i.b >= i.a)::int))
    ) AS picked(step)
    RETURNING ctid
)
SELECT p.first_post, p.last_post, l.first_link, l.last_link
FROM (SELECT min(ctid) AS first_post, max(ctid) AS last_post FROM inserted) p,
     (SELECT min(ctid) AS first_link, max(ctid) AS last_link FROM linked) l
"""
# The rows from $1 to $2 (ctids) of a table, read so that they get their hint bits.
READ_ROWS = "SELECT count(*) FROM {table} WHERE ctid >= $1::tid AND ctid <= $2::tid"
# When the seed counted its users' posts itself, only the tags' counts are left, and every
# link is this seed's: a published post's links carry its `published_at`.
COUNT_TAGS = """
UPDATE public.tags t SET published_post_count = c.n
FROM (
    SELECT tag_id, count(*) AS n FROM public.post_tags
    WHERE post_published_at IS NOT NULL GROUP BY tag_id
) c
WHERE t.id = c.tag_id
"""
REFRESH_COUNTS = "SELECT public.refresh_published_post_counts()"
# Whether the database holds no posts and no counts: then every count is this seed's to set.
NOTHING_COUNTED = """
SELECT NOT EXISTS (SELECT FROM public.posts)
   AND NOT EXISTS (SELECT FROM public.users WHERE published_post_count <> 0)
   AND NOT EXISTS (SELECT FROM public.tags WHERE published_post_count <> 0)
"""


class SeedRefused(RuntimeError):
    """The seed cannot run as asked (no posts to add, or a database not to fill with sample
    data); the message says why."""


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


def vocabulary(rng: random.Random) -> list[str]:
    """Pseudo-words from syllables and the topic words, most common first."""
    pseudo = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 3))) for _ in range(4000)})
    # Topic words rank after the hundred most common words: each is in about one post in six,
    # so a search for one has many matches at any size.
    return [*pseudo[:100], *dict.fromkeys(TOPICS), *pseudo[100:]]


async def indexed_words(connection: asyncpg.Connection, words: list[str]) -> list[str]:
    """The words a search document keeps, in order: stop words (`do`) are left out.

    A post's document is its pieces' documents joined, and joining shifts the positions of
    the next piece by the last position in the one before; a piece that ended in a stop word
    would shift them one short of what `to_tsvector` gives for the whole text.
    """
    rows = await connection.fetch(
        "SELECT word FROM unnest($1::text[]) WITH ORDINALITY AS w(word, rank) "
        "WHERE to_tsvector($2::text::regconfig, word) <> ''::tsvector ORDER BY rank",
        words,
        SEARCH_CONFIGURATION,
    )
    return [row["word"] for row in rows]


class Generator:
    """Random but plausible values: text is cut from one Zipf-distributed corpus."""

    def __init__(self, rng: random.Random, words: Sequence[str]) -> None:
        self.rng = rng
        self.now = datetime.now(UTC)
        weights = [1 / rank for rank in range(1, len(words) + 1)]
        self.corpus = " ".join(rng.choices(words, weights=weights, k=300_000))
        self.starts = [0, *(i + 1 for i, char in enumerate(self.corpus) if char == " ")]
        self.limit = len(self.starts) - 200

    def text(self, length: int) -> str:
        start = self.starts[self.rng.randrange(self.limit)]
        end = self.corpus.find(" ", start + length)
        return self.corpus[start:end]

    def moment(self) -> datetime:
        return self.now - SPAN * self.rng.random()


async def seed(
    url: str, posts: int, *, progress: bool = True, random_seed: int | None = None
) -> SeedReport:
    """Add `posts` posts (and a tenth as many users) to the database at `url`."""
    if posts < 1:
        raise SeedRefused(f"Nothing to seed: {posts} posts asked for, at least 1 is needed.")
    started = time.monotonic()
    # Sample data, reproducible from `random_seed`: no secret depends on it.
    rng = random.Random(random_seed)  # noqa: S311  # nosec B311  # reproducible sample data
    users = max(1, posts // POSTS_PER_USER)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await _refuse_supabase_auth(connection)
        generator = Generator(rng, await indexed_words(connection, vocabulary(rng)))
        authors = rng.choices(range(1, users + 1), k=posts)
        async with connection.transaction():
            skips_triggers = await _prepare(connection)
            # Counting what one knows is cheaper than recounting a million posts (5 s).
            counts_own = skips_triggers and await connection.fetchval(NOTHING_COUNTED)
            tag_ids = await _upsert_tags(connection)
            published = published_posts(authors, users) if counts_own else [0] * users
            user_ids = await _copy_users(connection, generator, published)
            if await _count_posts(connection) < posts:
                await _drop_secondary_indexes(connection)
        loaded = False
        try:
            with tqdm(total=posts, unit="post", disable=not progress, desc="seed") as bar:
                await _insert_posts(url, generator, authors, user_ids, tag_ids, bar)
            loaded = True
        finally:
            # A third of a large seed's time: the indexes get a progress bar of their own. A
            # load that stopped short recounts everything: its users were counted in advance.
            counting = COUNT_TAGS if counts_own and loaded else REFRESH_COUNTS
            finishing = [*_index_creations(), counting]
            async with connection.transaction():
                await _prepare(connection)
                for statement in tqdm(finishing, unit="step", disable=not progress, desc="index"):
                    await connection.execute(statement)
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


async def _prepare(connection: asyncpg.Connection) -> bool:
    """Settings for the current transaction; whether its per-row triggers are skipped."""
    await connection.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    await connection.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    # The indexes dropped for the load are rebuilt afterwards in parallel. The leader builds
    # too, so one worker per core beyond the first: on two cores, rebuilding them all took
    # 15.9-16.6 s with one worker and 16.4-21.9 s with two (four runs each, alternating).
    workers = (os.cpu_count() or 1) - 1
    await connection.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
    if not await connection.fetchval("SELECT current_setting('is_superuser') = 'on'"):
        return False
    await connection.execute("SET LOCAL session_replication_role = replica")
    return True


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


def published_posts(authors: Sequence[int], users: int) -> list[int]:
    """How many published posts each of `users` users has, when post n is by user
    `authors[n]` (numbered from 1) and every `DRAFT_EVERY`th post is a draft."""
    counts = Counter(authors)
    counts.subtract(authors[DRAFT_EVERY - 1 :: DRAFT_EVERY])
    return [counts[number] for number in range(1, users + 1)]


async def _copy_users(
    connection: asyncpg.Connection, generator: Generator, published: Sequence[int]
) -> list[uuid.UUID]:
    """Copy one user (account, user, profile) per entry of `published`, their post counts."""
    run = secrets.token_hex(4)
    rng = generator.rng
    accounts = []
    for number, count in enumerate(published):
        name = f"{generator.text(4).title()} {generator.text(6).title()}"[:NAME_MAX]
        accounts.append((uuid.uuid4(), f"reader{number}.{run}@example.com", name, count))
    joined = [(generator.moment(), account) for account in accounts]
    await connection.copy_records_to_table(
        "users",
        schema_name="auth",
        columns=["id", "email", "created_at"],
        records=[(key, email, at) for at, (key, email, _, _) in joined],
    )
    await connection.copy_records_to_table(
        "users",
        columns=["id", "email", "name", "created_at", "updated_at", "published_post_count"],
        records=[(key, email, name, at, at, count) for at, (key, email, name, count) in joined],
    )
    # Ids drawn here: the column's default, `gen_random_uuid()`, opens /dev/urandom for each
    # (see INSERT_POSTS). 100k profiles took 0.59-0.61 s to copy against 1.07-1.14 s.
    await connection.copy_records_to_table(
        "user_profiles",
        columns=["id", "user_id", "bio"],
        records=[(uuid.uuid4(), key, generator.text(rng.randint(40, 300))) for key, *_ in accounts],
    )
    return [key for key, *_ in accounts]


def secondary_indexes() -> list[Index]:
    """The indexes of the loaded tables that enforce nothing, as the models define them, by
    name (a table's indexes are a set: every seed builds them in the same order).

    A unique index stays even without a constraint behind it (`uq_posts_slug`, migration 0007):
    the API's upserts name it, and slugs must never go unchecked, even if the seed dies.
    """
    tables = (metadata.tables[name] for name in REBUILT_TABLES)
    indexes = (index for table in tables for index in table.indexes if not index.unique)
    return sorted(indexes, key=lambda index: str(index.name))


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> None:
    for index in secondary_indexes():
        await connection.execute(f"DROP INDEX IF EXISTS {index.name}")


def _index_creations() -> list[str]:
    """Statements that create the secondary indexes the database lacks: those this seed
    dropped, and any that a seed stopped before it could rebuild them (killed, or its machine
    gone) left missing."""
    creations = (CreateIndex(index, if_not_exists=True) for index in secondary_indexes())
    return [str(creation.compile(dialect=DIALECT)) for creation in creations]


async def _insert_posts(
    url: str,
    generator: Generator,
    authors: Sequence[int],
    users: Sequence[uuid.UUID],
    tags: Sequence[uuid.UUID],
    bar: "tqdm[Any]",
) -> None:
    """Insert the posts and their links, a chunk at a time, over one connection per core:
    post n by user `users[authors[n] - 1]`.

    Each connection holds the title and paragraph pools in temporary tables, with their
    search documents, and PostgreSQL draws the posts itself: one INSERT … SELECT a chunk, no
    row crosses the wire. A chunk's random stream is seeded in order (`setseed`), so a
    `random_seed` gives the same posts whichever connection inserts them (ids, and the slugs
    that end with them, aside).
    """
    count = len(authors)
    pools = Pools.draw(generator, count)
    chunks = [
        (start, min(start + CHUNK, count) - 1, generator.rng.uniform(-1, 1))
        for start in range(0, count, CHUNK)
    ]
    pending = iter(chunks)
    key = secrets.randbits(62)  # the ids' random bits, mixed with it (see INSERT_POSTS)

    async def insert_chunks(connection: asyncpg.Connection) -> None:
        await connection.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        await pools.load(connection)
        for first, last, chunk_seed in pending:
            # A transaction a chunk: an interrupted seed keeps every chunk it committed. A
            # chunk that fails is not rolled back here but by closing its connection, once the
            # other workers have stopped: awaiting a ROLLBACK first would let them go on.
            chunk = connection.transaction()
            await chunk.start()
            await _prepare(connection)
            await connection.execute("SELECT setseed($1)", chunk_seed)
            rows = await connection.fetchrow(
                INSERT_POSTS,
                first,
                last,
                users,
                tags,
                SPAN,
                *pools.sizes,
                DRAFT_EVERY,
                authors[first : last + 1],
                key,
            )
            await chunk.commit()
            await _set_hint_bits(connection, rows)
            bar.update(last - first + 1)

    async with _connections(url, min(len(chunks), os.cpu_count() or 1)) as connections:
        await _all_or_none(insert_chunks(connection) for connection in connections)


async def _set_hint_bits(connection: asyncpg.Connection, rows: asyncpg.Record) -> None:
    """Read a committed chunk's rows, so that they are marked as committed (hint bits).

    The first statement to read a row after its transaction commits marks it so; with data
    checksums (PostgreSQL's default since 18), that mark writes the whole page to the WAL
    again unless the page is already there since the last checkpoint. Read now, the chunk's
    pages are in memory and in the WAL; left to the first index build, they were written out
    again: 1M posts wrote 5.2 GB of WAL instead of 7.4, and that build took 1.9 s, not 5.5.
    """
    for table, first, last in (
        ("posts", rows["first_post"], rows["last_post"]),
        ("post_tags", rows["first_link"], rows["last_link"]),
    ):
        await connection.execute(READ_ROWS.format(table=table), first, last)


@asynccontextmanager
async def _connections(url: str, count: int) -> AsyncIterator[list[asyncpg.Connection]]:
    """`count` connections, closed once the work on them has stopped.

    A worker must not close its own connection when it fails: closing one that holds the
    pools' temporary tables waits for PostgreSQL to drop them (3-4 ms idle, far more on a
    busy machine), and the other workers would go on committing chunks meanwhile.
    """
    async with AsyncExitStack() as stack:
        connections = []
        for _ in range(count):
            connection = await asyncpg.connect(**asyncpg_arguments(url))
            stack.push_async_callback(connection.close)
            connections.append(connection)
        yield connections


async def _all_or_none(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run `work` side by side; when one fails, stop the others and raise its error.

    `asyncio.gather` would let the others go on loading until they ran out of chunks, and
    a TaskGroup would wrap the error in an ExceptionGroup that the CLI does not recognise.
    """
    tasks = [asyncio.create_task(coroutine) for coroutine in work]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@dataclass(frozen=True)
class Pools:
    """The titles and paragraphs posts are made of: a post is a title and two paragraphs."""

    titles: list[str]
    slugs: list[str]  # each title's, before the id that makes it unique
    paragraphs: list[str]

    @classmethod
    def draw(cls, generator: Generator, posts: int) -> "Pools":
        rng = generator.rng
        titles = [
            generator.text(rng.randint(20, 60)).capitalize()
            for _ in range(min(TITLES, max(posts, MIN_POOL)))
        ]
        paragraphs = [
            generator.text(PARAGRAPH_CHARS) for _ in range(min(PARAGRAPHS, max(posts, MIN_POOL)))
        ]
        return cls(titles, [base_slug(title) for title in titles], paragraphs)

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.titles), len(self.paragraphs)

    async def load(self, connection: asyncpg.Connection) -> None:
        """The pools as temporary tables, each piece with its search document."""
        await connection.execute(POOL_TABLES)
        await connection.execute(
            "INSERT INTO pg_temp.seed_titles SELECT n, title, slug, to_tsvector($3, title) "
            "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(title, slug, n)",
            self.titles,
            self.slugs,
            SEARCH_CONFIGURATION,
        )
        await connection.execute(
            "INSERT INTO pg_temp.seed_paragraphs SELECT n, content, to_tsvector($2, content) "
            "FROM unnest($1::text[]) WITH ORDINALITY AS p(content, n)",
            self.paragraphs,
            SEARCH_CONFIGURATION,
        )
        await connection.execute("ANALYZE pg_temp.seed_titles, pg_temp.seed_paragraphs")


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
