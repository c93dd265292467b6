"""Every list the API serves is answered from an index, on tens of thousands of rows.

The statements explained are the very ones the repositories ran: captured from SQLAlchemy's
events, and from asyncpg's query logger for the reads that run on asyncpg itself.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from db import migrate
from db.engine import create_engine, create_sessionmaker
from db.repositories import posts
from db.repositories.pages import Keyset
from db.repositories.posts import PostFilter
from tests.support import logging_statements, recreate_database


class Explain(Protocol):
    def __call__(
        self, call: Callable[[AsyncSession], Awaitable[object]], options: str = ""
    ) -> Awaitable[str]: ...


POSTS = 20000
AUTHORS = 2000
TAGS = 500

SEED = [
    f"""INSERT INTO auth.users (id, email)
        SELECT gen_random_uuid(), 'author' || n || '@example.com'
        FROM generate_series(1, {AUTHORS}) n""",
    """INSERT INTO users (id, email, name)
        SELECT id, email, split_part(email, '@', 1) FROM auth.users ON CONFLICT DO NOTHING""",
    f"""INSERT INTO tags (name, slug)
        SELECT 'tag ' || n, 'tag-' || n FROM generate_series(1, {TAGS}) n""",
    f"""INSERT INTO posts (author_id, title, content, slug, is_published, published_at, created_at)
        SELECT (SELECT array_agg(id) FROM users)[1 + n % {AUTHORS}],
               'Post number ' || n, 'Words about postgres and python, entry ' || n
                 || CASE WHEN n % 1000 = 0 THEN ' zeppelin' ELSE '' END,
               'post-' || n, n % 10 <> 0,
               CASE WHEN n % 10 <> 0 THEN now() - n * interval '1 minute' END,
               now() - n * interval '1 minute'
        FROM generate_series(1, {POSTS}) n""",
    f"""INSERT INTO post_tags (post_id, tag_id)
        SELECT p.id, t.id FROM posts p JOIN tags t
          ON t.slug IN ('tag-' || (1 + abs(hashtext(p.slug)) % {TAGS}),
                        'tag-' || (1 + abs(hashtext(p.slug || 'x')) % {TAGS}))
        ON CONFLICT DO NOTHING""",
    # Rows inserted after the GIN index wait in its pending list until (auto)vacuum merges
    # them; the planner prices a search by that list's size, so merge it as vacuum would.
    "SELECT gin_clean_pending_list('ix_posts_search_published'::regclass)",
    "ANALYZE",
]


@pytest.fixture(scope="module")
async def plans_engine(direct_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own, seeded and analysed once for every test here.

    Its collation is libc's `C.UTF-8`, not the embedded server's code-point order: most
    servers sort by a locale, and PostgreSQL turns a `LIKE 'prefix%'` into an index range only
    under `C`.
    """
    url = await recreate_database(direct_url, "plans", locale="C.UTF-8")
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        for statement in SEED:
            await connection.execute(text(statement))
    yield engine
    await engine.dispose()


@pytest.fixture
def explained(
    plans_engine: AsyncEngine,
) -> Explain:
    """Run a repository call, then EXPLAIN the first statement it ran on `posts`."""

    async def explain(call: Callable[[AsyncSession], Awaitable[object]], options: str = "") -> str:
        async with create_sessionmaker(plans_engine)() as session:
            connection = await session.connection()
            async with logging_statements(plans_engine, connection) as log:
                await call(session)
                ran = await log.settled()
            statement, arguments = next((sql, args) for sql, args in ran if "FROM posts" in sql)
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            plan = await driver.fetch(f"EXPLAIN {options} {statement}", *arguments)
            return "\n".join(row[0] for row in plan)

    return explain


async def any_author(engine: AsyncEngine) -> uuid.UUID:
    async with engine.connect() as connection:
        return uuid.UUID(
            str((await connection.execute(text("SELECT id FROM users LIMIT 1"))).scalar())
        )


NO_SEQ_SCAN = ("Seq Scan on posts", "Seq Scan on post_tags")


@pytest.mark.parametrize(
    ("filters", "limit", "index"),
    [
        (PostFilter(), 20, "ix_posts_published_at_published"),
        (PostFilter(), 100, "ix_posts_published_at_published"),
        (PostFilter(tags=["tag-7"]), 20, "ix_post_tags_tag_id_post_published_at"),
        (PostFilter(tags=["tag-7", "tag-8"]), 20, "ix_post_tags_tag_id_post_published_at"),
        (PostFilter(query="zeppelin"), 20, "ix_posts_search_published"),
    ],
)
async def test_published_lists_use_an_index(
    explained: Explain, filters: PostFilter, limit: int, index: str
) -> None:
    plan = await explained(lambda session: posts.published(session, filters, limit, None))
    assert index in plan, plan
    assert not any(scan in plan for scan in NO_SEQ_SCAN), plan


@pytest.mark.parametrize("tags", [["no-such-tag"], ["tag-7", "no-such-tag"], ["tag-3"]])
async def test_a_tag_page_reads_only_its_entries_of_the_listing_index(
    explained: Explain, tags: list[str]
) -> None:
    """An unknown tag, or a known one: a page reads the tag's entries of its listing index (a
    page of them, or all of a small tag's ~80), and never walks the published posts."""
    filters = PostFilter(tags=tags)
    analyzed = await explained(
        lambda session: posts.published(session, filters, 20, None), "(ANALYZE)"
    )
    assert "ix_posts_published_at_published" not in analyzed, analyzed
    [listing] = [line for line in analyzed.splitlines() if "ix_post_tags_tag_id_post_pu" in line]
    read = listing.split("rows=")[-1].split()[0]
    assert "never executed" in listing or float(read) <= POSTS / 100, analyzed


@pytest.mark.parametrize("limit", [20, 100])
async def test_a_page_reads_its_tags_in_one_pass(explained: Explain, limit: int) -> None:
    """The page's tags are looked up once for all its posts, not once per post (which had
    PostgreSQL hash every tag again for each post of the page)."""
    analyzed = await explained(
        lambda session: posts.published(session, PostFilter(), limit, None), "(ANALYZE)"
    )
    tag_scans = [line for line in analyzed.splitlines() if " on tags " in line]
    assert tag_scans, analyzed
    assert all("loops=1)" in line for line in tag_scans), analyzed


async def test_searches_read_the_stored_document(explained: Explain) -> None:
    """A common word walks the newest posts, reading each one's stored document, never
    recomputing it (that cost 0.2-0.7 ms per post)."""
    filters = PostFilter(query="postgres")
    plan = await explained(lambda session: posts.published(session, filters, 20, None))
    assert "search_vector" in plan, plan
    assert "to_tsvector" not in plan, plan


async def test_next_pages_use_the_same_index(explained: Explain) -> None:
    after = Keyset(datetime.now(UTC) - timedelta(days=3), uuid.uuid4())
    plan = await explained(lambda session: posts.published(session, PostFilter(), 20, after))
    assert "ix_posts_published_at_published" in plan, plan


async def test_author_filter_uses_the_author_index(
    explained: Explain, plans_engine: AsyncEngine
) -> None:
    filters = PostFilter(author_id=await any_author(plans_engine))
    plan = await explained(lambda session: posts.published(session, filters, 20, None))
    assert "ix_posts_author_id_published_at_published" in plan, plan


async def test_my_posts_use_the_author_created_index(
    explained: Explain, plans_engine: AsyncEngine
) -> None:
    author = await any_author(plans_engine)
    plan = await explained(lambda session: posts.by_author(session, author, None, 20, None))
    assert "ix_posts_author_id_created_at" in plan, plan


async def test_slug_lookup_uses_the_unique_index(explained: Explain) -> None:
    plan = await explained(lambda session: posts.by_slug(session, "post-7"))
    assert "uq_posts_slug" in plan, plan


async def test_a_slug_taken_is_numbered_from_the_slug_index(explained: Explain) -> None:
    """Counting the slugs `post-7` and `post-7-…` reads a range of the slug index, under any
    collation: the first post with a popular title must not scan every post."""
    plan = await explained(lambda session: posts._candidate_slug(session, "post-7", 1))
    assert "Seq Scan" not in plan, plan
    ranges = [line for line in plan.splitlines() if "Index Cond" in line and "post-7-" in line]
    assert ranges, plan


async def plan_of(engine: AsyncEngine, statement: str, *parameters: object) -> str:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in result)


async def test_email_lookup_uses_the_lower_email_index(plans_engine: AsyncEngine) -> None:
    sql = "SELECT id FROM users WHERE lower(email) = lower($1)"
    plan = await plan_of(plans_engine, sql, "AUTHOR3@example.com")
    assert "uq_users_email_lower" in plan, plan


async def test_tag_lookup_uses_the_lower_name_index(plans_engine: AsyncEngine) -> None:
    plan = await plan_of(plans_engine, "SELECT id FROM tags WHERE lower(name) = ANY($1)", ["tag 3"])
    assert "uq_tags_name_lower" in plan, plan


async def test_a_list_page_reuses_one_cached_plan(plans_engine: AsyncEngine) -> None:
    """The page size is written into a list's SQL, so PostgreSQL plans it once per connection.

    With `LIMIT $n` it would plan every execution: it prices an unknown limit as a tenth of
    the table, so its cached plan never looks good enough to reuse.
    """
    async with create_sessionmaker(plans_engine)() as session:
        for _ in range(8):
            await posts.published(session, PostFilter(), 20, None)
        connection = await session.connection()
        plans = (
            await connection.execute(
                text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
            )
        ).all()
    page = posts._published_matching(0, False, False, False, 20).sql
    [(generic, custom)] = [(g, c) for sql, g, c in plans if sql == page]
    # Other tests may have run the same page on this connection before.
    assert custom == 0
    assert generic >= 8
