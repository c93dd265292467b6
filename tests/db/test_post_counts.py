"""What triggers keep stay exact through every kind of write: the published-post counts on
tags and users, and each link's copy of its post's `published_at` (the tag listing index)."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import create_account, run_sql

# Rows whose stored count differs from a fresh count: none, ever.
DRIFT = """
SELECT 'tag ' || t.name AS row, t.published_post_count AS stored, count(p.id) AS actual
FROM tags t
LEFT JOIN post_tags pt ON pt.tag_id = t.id
LEFT JOIN posts p ON p.id = pt.post_id AND p.is_published
GROUP BY t.id HAVING t.published_post_count <> count(p.id)
UNION ALL
SELECT 'user ' || u.name, u.published_post_count, count(p.id)
FROM users u LEFT JOIN posts p ON p.author_id = u.id AND p.is_published
GROUP BY u.id HAVING u.published_post_count <> count(p.id)
UNION ALL
SELECT 'link ' || p.title, 0, 0
FROM post_tags pt JOIN posts p ON p.id = pt.post_id
WHERE pt.post_published_at IS DISTINCT FROM CASE WHEN p.is_published THEN p.published_at END
"""


class Blog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user(self, name: str) -> uuid.UUID:
        user_id = await create_account(self.session, f"{name}-{uuid.uuid4().hex[:6]}@example.com")
        await run_sql(
            self.session,
            "INSERT INTO users (id, email, name) SELECT id, email, :name FROM auth.users "
            "WHERE id = :id",
            id=user_id,
            name=name,
        )
        return user_id

    async def tag(self, name: str) -> uuid.UUID:
        tag_id = uuid.uuid4()
        await run_sql(
            self.session,
            "INSERT INTO tags (id, name, slug) VALUES (:id, :name, :name)",
            id=tag_id,
            name=name,
        )
        return tag_id

    async def post(self, author: uuid.UUID, tags: list[uuid.UUID], published: bool) -> uuid.UUID:
        post_id = uuid.uuid4()
        await run_sql(
            self.session,
            "INSERT INTO posts (id, author_id, title, content, slug, is_published, published_at) "
            "VALUES (:id, :author, 'T', 'C', :slug, :published, "
            "CASE WHEN :published THEN now() END)",
            id=post_id,
            author=author,
            slug=post_id.hex,
            published=published,
        )
        for tag_id in tags:
            await self.link(post_id, tag_id)
        return post_id

    async def link(self, post_id: uuid.UUID, tag_id: uuid.UUID) -> None:
        await run_sql(
            self.session, "INSERT INTO post_tags VALUES (:post, :tag)", post=post_id, tag=tag_id
        )

    async def count(self, table: str, key: uuid.UUID) -> int:
        result = await run_sql(
            self.session, f"SELECT published_post_count FROM {table} WHERE id = :id", id=key
        )
        return int(result.scalar_one())

    async def drift(self) -> list[object]:
        return list((await run_sql(self.session, DRIFT)).all())


async def test_counts_follow_publishing_tagging_and_deleting(session: AsyncSession) -> None:
    blog = Blog(session)
    ada, bob = await blog.user("ada"), await blog.user("bob")
    python, sql = await blog.tag("count-python"), await blog.tag("count-sql")

    first = await blog.post(ada, [python, sql], published=True)
    draft = await blog.post(ada, [python], published=False)
    await blog.post(bob, [sql], published=True)
    assert (await blog.count("tags", python), await blog.count("tags", sql)) == (1, 2)
    assert (await blog.count("users", ada), await blog.count("users", bob)) == (1, 1)

    await run_sql(session, "UPDATE posts SET is_published = true WHERE id = :id", id=draft)
    assert await blog.count("tags", python) == 2
    assert await blog.count("users", ada) == 2
    assert await blog.drift() == []
    await run_sql(session, "UPDATE posts SET is_published = false WHERE id = :id", id=first)
    await run_sql(session, "UPDATE posts SET title = 'edited' WHERE id = :id", id=draft)
    assert await blog.drift() == []
    await run_sql(
        session, "UPDATE posts SET published_at = now() - interval '1 day' WHERE id = :id", id=draft
    )
    assert await blog.drift() == []

    await run_sql(
        session, "DELETE FROM post_tags WHERE post_id = :id AND tag_id = :tag", id=draft, tag=python
    )
    await blog.link(draft, sql)
    assert await blog.drift() == []

    await run_sql(session, "DELETE FROM posts WHERE id = :id", id=draft)
    assert await blog.drift() == []
    assert await blog.count("tags", sql) == 1

    await run_sql(session, "DELETE FROM auth.users WHERE id = :id", id=bob)
    assert await blog.count("tags", sql) == 0
    assert await blog.drift() == []


async def test_truncating_posts_resets_the_counts(session: AsyncSession) -> None:
    blog = Blog(session)
    author = await blog.user("cy")
    tag = await blog.tag("count-truncate")
    await blog.post(author, [tag], published=True)
    await run_sql(session, "TRUNCATE posts CASCADE")
    assert (await blog.count("tags", tag), await blog.count("users", author)) == (0, 0)


async def test_deleting_a_tagged_draft_leaves_the_counts_alone(session: AsyncSession) -> None:
    """A draft's links never counted: deleting it takes nothing off its tags."""
    blog = Blog(session)
    author = await blog.user("gus")
    tag = await blog.tag("count-draft-deleted")
    await blog.post(author, [tag], published=True)
    draft = await blog.post(author, [tag], published=False)
    await run_sql(session, "DELETE FROM posts WHERE id = :id", id=draft)
    assert (await blog.count("tags", tag), await blog.count("users", author)) == (1, 1)
    assert await blog.drift() == []


async def test_truncating_links_resets_tag_counts_only(session: AsyncSession) -> None:
    """Without links no tag has a published post, but every author keeps theirs."""
    blog = Blog(session)
    author = await blog.user("hal")
    tag = await blog.tag("count-links-truncated")
    await blog.post(author, [tag], published=True)
    await run_sql(session, "TRUNCATE post_tags")
    assert (await blog.count("tags", tag), await blog.count("users", author)) == (0, 1)
    assert await blog.drift() == []


async def test_refresh_repairs_counts_written_around_the_triggers(session: AsyncSession) -> None:
    blog = Blog(session)
    author = await blog.user("dee")
    tag = await blog.tag("count-refresh")
    await blog.post(author, [tag], published=True)
    await run_sql(session, "UPDATE tags SET published_post_count = 42 WHERE id = :id", id=tag)
    await run_sql(session, "SELECT public.refresh_published_post_counts()")
    assert await blog.count("tags", tag) == 1
    assert await blog.drift() == []


async def test_links_updated_in_place_move_the_counts(session: AsyncSession) -> None:
    """The API replaces links; the service key or a script may update them (0027)."""
    blog = Blog(session)
    author = await blog.user("fay")
    duplicate, kept = await blog.tag("count-duplicate"), await blog.tag("count-kept")
    published = await blog.post(author, [duplicate], published=True)
    await blog.post(author, [duplicate], published=False)
    draft = await blog.post(author, [], published=False)

    # Two tags merged into one.
    await run_sql(session, "SET LOCAL ROLE service_role")
    await run_sql(
        session,
        "UPDATE post_tags SET tag_id = :kept WHERE tag_id = :duplicate",
        kept=kept,
        duplicate=duplicate,
    )
    await run_sql(session, "RESET ROLE")
    assert (await blog.count("tags", duplicate), await blog.count("tags", kept)) == (0, 1)
    # A published post's link moved to a draft, and back.
    await run_sql(
        session, "UPDATE post_tags SET post_id = :draft WHERE post_id = :post",
        draft=draft, post=published,
    )  # fmt: skip
    assert await blog.count("tags", kept) == 0
    await run_sql(
        session, "UPDATE post_tags SET post_id = :post WHERE post_id = :draft AND tag_id = :kept",
        draft=draft, post=published, kept=kept,
    )  # fmt: skip
    assert await blog.count("tags", kept) == 1
    # An upsert that rewrites the link it collides with.
    await run_sql(
        session,
        "INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :kept) "
        "ON CONFLICT (post_id, tag_id) DO UPDATE SET tag_id = :duplicate",
        post=published,
        kept=kept,
        duplicate=duplicate,
    )
    assert (await blog.count("tags", duplicate), await blog.count("tags", kept)) == (1, 0)
    assert await blog.drift() == []


async def test_a_link_cannot_list_a_draft(session: AsyncSession) -> None:
    """Whatever a writer puts in a link's `post_published_at`, it is its post's."""
    blog = Blog(session)
    author = await blog.user("eve")
    tag = await blog.tag("listing-forged")
    draft = await blog.post(author, [], published=False)
    await run_sql(
        session,
        "INSERT INTO post_tags (post_id, tag_id, post_published_at) VALUES (:post, :tag, now())",
        post=draft,
        tag=tag,
    )
    await run_sql(
        session, "UPDATE post_tags SET post_published_at = now() WHERE post_id = :id", id=draft
    )
    assert await blog.drift() == []


async def test_a_publication_waits_for_a_link_being_added(engine: AsyncEngine) -> None:
    """A link copies its post's state under a share lock: publishing the post meanwhile waits
    for the link's commit, then updates it too (without the lock, the link would keep NULL)."""
    author, tag, post = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as setup:
        await setup.execute(
            text("INSERT INTO auth.users (id, email) VALUES (:id, :email)"),
            {"id": author, "email": f"{author.hex}@example.com"},
        )
        await setup.execute(
            text("INSERT INTO users (id, email, name) VALUES (:id, :email, 'Fay')"),
            {"id": author, "email": f"{author.hex}@example.com"},
        )
        await setup.execute(
            text("INSERT INTO tags (id, name, slug) VALUES (:id, :slug, :slug)"),
            {"id": tag, "slug": f"race-{tag.hex[:8]}"},
        )
        await setup.execute(
            text(
                "INSERT INTO posts (id, author_id, title, content, slug) "
                "VALUES (:id, :author, 'Race', 'C', :slug)"
            ),
            {"id": post, "author": author, "slug": post.hex},
        )
    publish = text("UPDATE posts SET (is_published, published_at) = (true, now()) WHERE id = :id")
    try:
        async with engine.connect() as linking, engine.connect() as publishing:
            await linking.execute(
                text("INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :tag)"),
                {"post": post, "tag": tag},
            )
            await publishing.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(DBAPIError, match="lock timeout"):
                await publishing.execute(publish, {"id": post})
            await publishing.rollback()
            await linking.commit()
            await publishing.execute(publish, {"id": post})
            await publishing.commit()
        async with engine.connect() as reading:
            listed = await reading.execute(
                text("SELECT post_published_at FROM post_tags WHERE post_id = :id"), {"id": post}
            )
            assert listed.scalar_one() is not None
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DELETE FROM auth.users WHERE id = :id"), {"id": author})
            await cleanup.execute(text("DELETE FROM tags WHERE id = :id"), {"id": tag})
