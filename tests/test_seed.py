"""`make seed`: a small seed into a database of its own, checked row by row."""

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from db import migrate
from db import seed as seed_module
from db.seed import (
    TAG_COUNT,
    TAGS_PER_POST,
    SeedRefused,
    _drop_secondary_indexes,
    indexed_words,
    published_posts,
    secondary_indexes,
    seed,
)
from db.url import asyncpg_arguments
from tests.support import recreate_database

POSTS = 200
INDEXES = "SELECT indexname FROM pg_indexes WHERE tablename IN ('posts', 'post_tags')"
# Users and tags whose count is not the number of published posts they have.
MISCOUNTED = """
SELECT (SELECT count(*) FROM users u WHERE published_post_count <>
            (SELECT count(*) FROM posts p WHERE p.author_id = u.id AND p.is_published))
     + (SELECT count(*) FROM tags t WHERE published_post_count <>
            (SELECT count(*) FROM post_tags pt JOIN posts p ON p.id = pt.post_id
             WHERE pt.tag_id = t.id AND p.is_published))
"""


@pytest.fixture(scope="module")
async def seeded(direct_url: str) -> AsyncIterator[asyncpg.Connection]:
    url = await recreate_database(direct_url, "seed")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed(url, POSTS, progress=False, random_seed=7)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    yield connection
    await connection.close()


@pytest.fixture
def two_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two loading connections, whatever the machine: the seed opens one per core."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


async def count(connection: asyncpg.Connection, query: str) -> int:
    return int(await connection.fetchval(query))


async def test_posts_users_and_tags_are_counted_out(seeded: asyncpg.Connection) -> None:
    assert await count(seeded, "SELECT count(*) FROM posts") == POSTS
    assert await count(seeded, "SELECT count(*) FROM users") == POSTS // 10
    assert await count(seeded, "SELECT count(*) FROM tags") == TAG_COUNT
    assert await count(seeded, "SELECT count(*) FROM posts WHERE is_published") == POSTS * 9 // 10


async def test_every_post_has_three_tags_and_content(seeded: asyncpg.Connection) -> None:
    tags_per_post = await seeded.fetch(
        "SELECT count(pt.tag_id) AS n FROM posts p LEFT JOIN post_tags pt ON pt.post_id = p.id "
        "GROUP BY p.id"
    )
    assert {row["n"] for row in tags_per_post} == {TAGS_PER_POST}
    lengths = await seeded.fetchrow("SELECT min(length(content)), max(length(content)) FROM posts")
    assert 900 <= lengths[0] <= lengths[1] <= 1200
    drafts = "SELECT count(*) FROM posts WHERE is_published <> (published_at IS NOT NULL)"
    assert await count(seeded, drafts) == 0


async def test_every_search_document_is_the_one_the_trigger_computes(
    seeded: asyncpg.Connection,
) -> None:
    """The seed joins its pieces' documents; writing each text again recomputes them all."""
    transaction = seeded.transaction()
    await transaction.start()
    try:
        await seeded.execute("CREATE TEMPORARY TABLE seeded AS SELECT id, search_vector FROM posts")
        await seeded.execute("UPDATE posts SET content = content")
        differing = await count(
            seeded,
            "SELECT count(*) FROM posts p JOIN seeded s USING (id) "
            "WHERE p.search_vector <> s.search_vector",
        )
        assert await count(seeded, "SELECT count(*) FROM seeded WHERE search_vector <> ''") == POSTS
    finally:
        await transaction.rollback()
    assert differing == 0


async def test_the_corpus_has_no_stop_words(seeded: asyncpg.Connection) -> None:
    """A piece ending in one would shift the next piece's positions one short when joined."""
    words = ["do", "kalo", "the", "postgres", "go"]
    assert await indexed_words(seeded, words) == ["kalo", "postgres", "go"]


async def test_every_user_has_an_account_and_a_profile(seeded: asyncpg.Connection) -> None:
    orphans = (
        "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT FROM auth.users a WHERE a.id = u.id)"
        " OR NOT EXISTS (SELECT FROM user_profiles p WHERE p.user_id = u.id)"
    )
    assert await count(seeded, orphans) == 0


async def test_counts_and_indexes_are_whole_after_the_load(seeded: asyncpg.Connection) -> None:
    """The rebuild path drops and recreates indexes; the counts are recomputed."""
    indexes = await seeded.fetch(INDEXES)
    assert {
        "ix_posts_search_published",
        "ix_posts_published_at_published",
        "ix_posts_author_id_published_at_published",
        "ix_posts_author_id_created_at",
        "ix_post_tags_tag_id",
    } <= {row["indexname"] for row in indexes}
    tagged = await count(seeded, "SELECT sum(published_post_count) FROM tags")
    assert tagged == POSTS * 9 // 10 * TAGS_PER_POST
    authored = await count(seeded, "SELECT sum(published_post_count) FROM users")
    assert authored == POSTS * 9 // 10
    assert await count(seeded, MISCOUNTED) == 0


async def test_ids_are_uuid_v7_and_slugs_end_with_their_random_part(
    seeded: asyncpg.Connection,
) -> None:
    """Time-ordered ids, made now; a slug ends with the id's last 16 hex digits, not its time."""
    rows = await seeded.fetch("SELECT id, slug, created_at FROM posts ORDER BY id")
    assert {row["id"].version for row in rows} == {7}
    for row in rows:
        assert row["slug"].endswith("-" + row["id"].hex[-16:])
        made = datetime.fromtimestamp(int(row["id"].hex[:12], 16) / 1000, UTC)
        assert abs(datetime.now(UTC) - made) < timedelta(hours=1)


def test_published_posts_leave_out_every_tenth_post() -> None:
    # Posts 0-19 by users 1, 2, 1, 2…: posts 9 and 19 (both by user 2) are drafts.
    assert published_posts([1, 2] * 10, 3) == [10, 8, 0]


def test_the_dropped_indexes_are_rebuilt_in_name_order() -> None:
    """A table's indexes are a set: without an order, each seed built them in another."""
    names = [str(index.name) for index in secondary_indexes()]
    assert names == sorted(names)
    assert "ix_posts_search_published" in names


async def test_a_large_load_keeps_the_unique_indexes(seeded: asyncpg.Connection) -> None:
    """Only indexes that enforce nothing are dropped: slugs stay unique during a load."""
    transaction = seeded.transaction()
    await transaction.start()
    try:
        await _drop_secondary_indexes(seeded)
        left = {row["indexname"] for row in await seeded.fetch(INDEXES)}
    finally:
        await transaction.rollback()
    assert left == {"pk_posts", "pk_post_tags", "uq_posts_slug"}


async def test_indexes_a_stopped_seed_left_dropped_come_back(direct_url: str) -> None:
    """A seed killed during its load never rebuilds what it dropped: the next seed does, even
    a small one that drops nothing, as the migrations define them."""
    url = await recreate_database(direct_url, "seed_repair")
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    definitions = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('posts', 'post_tags')"
    )
    try:
        migrated = set(await connection.fetch(definitions))
        await seed(url, 20, progress=False)
        await connection.execute("DROP INDEX ix_posts_search_published, ix_post_tags_tag_id")
        await seed(url, 10, progress=False)
        assert set(await connection.fetch(definitions)) == migrated
    finally:
        await connection.close()


POST_CONTENTS = (
    "SELECT p.title, p.content, p.is_published, array_agg(t.name ORDER BY t.name) AS tags "
    "FROM posts p JOIN post_tags pt ON pt.post_id = p.id JOIN tags t ON t.id = pt.tag_id "
    "GROUP BY p.id ORDER BY p.title, p.content"
)


@pytest.mark.usefixtures("two_connections")
async def test_chunks_over_two_connections_give_the_same_posts_for_a_seed(
    direct_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks: both connections share the load, and a random seed still fixes it."""
    monkeypatch.setattr(seed_module, "CHUNK", 37)
    seeded = []
    for name in ("seed_chunks_a", "seed_chunks_b"):
        url = await recreate_database(direct_url, name)
        await asyncio.to_thread(migrate.upgrade, url)
        await seed(url, POSTS, progress=False, random_seed=11)
        connection = await asyncpg.connect(**asyncpg_arguments(url))
        try:
            seeded.append([tuple(row) for row in await connection.fetch(POST_CONTENTS)])
        finally:
            await connection.close()
    assert len(seeded[0]) == POSTS
    assert seeded[0] == seeded[1]


@pytest.mark.usefixtures("two_connections")
async def test_a_failing_connection_stops_the_load_with_its_own_error(
    direct_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other connection stops too; the chunks committed stay, and the indexes come back."""
    monkeypatch.setattr(seed_module, "CHUNK", 37)
    url = await recreate_database(direct_url, "seed_failing")
    await asyncio.to_thread(migrate.upgrade, url)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        # The hundredth post written fails, in the third chunk.
        await connection.execute(
            "CREATE SEQUENCE written; ALTER TABLE posts ADD CONSTRAINT fail_once "
            "CHECK (nextval('written') <> 100) NOT VALID"
        )
        with pytest.raises(asyncpg.CheckViolationError, match="fail_once"):
            await seed(url, 40 * 37, progress=False)
        # A connection left running would go on to the last chunk: 700 posts or more by now.
        await asyncio.sleep(1)
        kept = await count(connection, "SELECT count(*) FROM posts")
        assert kept % 37 == 0
        # Its users were copied with the counts of posts it never wrote: it recounted them.
        assert await count(connection, MISCOUNTED) == 0
        # At most two chunks finished before the hundredth post, and the other connection's
        # chunk in flight may commit before it hears of the failure.
        assert 37 <= kept <= 3 * 37
        assert "ix_posts_search_published" in {
            row["indexname"] for row in await connection.fetch(INDEXES)
        }
    finally:
        await connection.close()


async def test_a_database_can_be_seeded_twice_with_one_random_seed(direct_url: str) -> None:
    url = await recreate_database(direct_url, "seed_twice")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed(url, 20, progress=False, random_seed=3)
    await seed(url, 20, progress=False, random_seed=3)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        assert await count(connection, "SELECT count(*) FROM posts") == 40
        assert await count(connection, MISCOUNTED) == 0
    finally:
        await connection.close()


async def test_a_seed_mends_the_counts_a_killed_one_left_wrong(direct_url: str) -> None:
    """A seed killed after copying its users, counted in advance, and before any post: the
    database holds no posts but holds counts, so the next seed recounts them."""
    url = await recreate_database(direct_url, "seed_mend")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed(url, 20, progress=False)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("DELETE FROM post_tags; DELETE FROM posts")
        await seed(url, 20, progress=False)
        assert await count(connection, MISCOUNTED) == 0
    finally:
        await connection.close()


async def test_every_row_a_chunk_wrote_is_read_after_its_commit(
    direct_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranges read for hint bits cover every post and link: none is left for later."""
    monkeypatch.setattr(seed_module, "CHUNK", 37)
    ranges: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {
        "posts": [],
        "post_tags": [],
    }
    read_rows = seed_module._set_hint_bits

    async def recording(connection: asyncpg.Connection, rows: asyncpg.Record) -> None:
        ranges["posts"].append((rows["first_post"], rows["last_post"]))
        ranges["post_tags"].append((rows["first_link"], rows["last_link"]))
        await read_rows(connection, rows)

    monkeypatch.setattr(seed_module, "_set_hint_bits", recording)
    url = await recreate_database(direct_url, "seed_hints")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed(url, POSTS, progress=False)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        for table, read in ranges.items():
            rows = await connection.fetch(f"SELECT ctid FROM {table}")
            assert len(read) == -(-POSTS // 37)
            assert all(any(a <= row["ctid"] <= b for a, b in read) for row in rows)
    finally:
        await connection.close()


async def test_a_database_of_supabase_auth_is_refused(direct_url: str) -> None:
    """Its auth.users could not read the seed's accounts: nothing is written."""
    url = await recreate_database(direct_url, "seed_supabase")
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        await connection.execute(
            "CREATE SCHEMA auth; CREATE TABLE auth.users "
            "(instance_id uuid, id uuid PRIMARY KEY, email text, created_at timestamptz)"
        )
        await asyncio.to_thread(migrate.upgrade, url)
        with pytest.raises(SeedRefused, match="Supabase Auth"):
            await seed(url, 10, progress=False)
        assert await count(connection, "SELECT count(*) FROM auth.users") == 0
    finally:
        await connection.close()


@pytest.mark.parametrize("posts", [0, -5])
async def test_no_posts_to_add_is_refused_before_anything_is_written(
    direct_url: str, posts: int
) -> None:
    """`make seed N=-5` reported "seeded -5 posts and 1 users", and added that user."""
    url = await recreate_database(direct_url, "seed_nothing")
    await asyncio.to_thread(migrate.upgrade, url)
    with pytest.raises(SeedRefused, match="at least 1"):
        await seed(url, posts, progress=False)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        assert await count(connection, "SELECT count(*) FROM auth.users") == 0
    finally:
        await connection.close()


async def test_fewer_posts_than_ten_still_have_an_author(direct_url: str) -> None:
    """`make seed N=5`: a tenth of 5 users is none, but the posts need one."""
    url = await recreate_database(direct_url, "seed_few")
    await asyncio.to_thread(migrate.upgrade, url)
    report = await seed(url, 5, progress=False)
    assert (report.posts, report.users) == (5, 1)
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        assert await count(connection, "SELECT count(*) FROM posts") == 5
        assert await count(connection, "SELECT count(*) FROM users") == 1
        assert await count(connection, MISCOUNTED) == 0
    finally:
        await connection.close()
