"""Writers racing over the same tags neither miscount them nor deadlock: each scenario holds
one transaction at a lock, or between two statements, and lets the other run into it."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Tag
from db.repositories import tags as tag_repository
from tests.api.races import execute, wait_for_lock_waits
from tests.db.test_post_counts import DRIFT, Blog
from tests.support import run_sql

LINK = text("INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :tag)")
UNLINK = text("DELETE FROM post_tags WHERE post_id = :post AND tag_id = :tag")


class CommittedBlog(Blog):
    """A blog whose rows are committed: a race needs transactions that see each other."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.authors: list[uuid.UUID] = []
        self.tags: list[uuid.UUID] = []

    async def user(self, name: str) -> uuid.UUID:
        self.authors.append(await super().user(name))
        return self.authors[-1]

    async def ordered_tags(self, count: int) -> list[uuid.UUID]:
        """`count` tags, in id order: the order every writer locks them in."""
        for _ in range(count):
            self.tags.append(await self.tag(f"lock-{uuid.uuid4().hex[:12]}"))
        return sorted(self.tags[-count:])


@pytest.fixture
async def blog(engine: AsyncEngine) -> AsyncIterator[CommittedBlog]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        blog = CommittedBlog(session)
        try:
            yield blog
        finally:
            await session.rollback()
            for author in blog.authors:
                await execute(engine, "DELETE FROM auth.users WHERE id = :id", id=author)
            for tag in blog.tags:
                await execute(engine, "DELETE FROM tags WHERE id = :id", id=tag)


async def drift(engine: AsyncEngine) -> list[object]:
    async with AsyncSession(engine) as session:
        return list((await run_sql(session, DRIFT)).all())


async def test_a_post_deleted_while_one_of_its_links_goes_counts_its_tag_once(
    engine: AsyncEngine, blog: CommittedBlog
) -> None:
    """The post's delete waits for the link's removal and skips it: without that, both took
    the tag off its count (the Data API removes a link without locking its post)."""
    author = await blog.user("Ida")
    [tag] = await blog.ordered_tags(1)
    post = await blog.post(author, [tag], published=True)
    await blog.session.commit()
    async with engine.connect() as untagging, engine.connect() as deleting:
        await untagging.execute(UNLINK, {"post": post, "tag": tag})
        deletion = asyncio.create_task(
            deleting.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post})
        )
        async with engine.connect() as watching:
            await wait_for_lock_waits(watching, 1)
        await untagging.commit()
        await deletion
        await deleting.commit()
    assert await blog.count("tags", tag) == 0
    assert await drift(engine) == []


async def delete_account_while_retagging(
    engine: AsyncEngine,
    leaving: uuid.UUID,
    kept: uuid.UUID,
    first_tag: uuid.UUID,
    retag: TextClause,
    retag_with: dict[str, object],
) -> None:
    """Delete `leaving`'s account while another user retags `kept` as the Data API does:
    `first_tag`'s link goes first, and once the deletion waits, `retag` runs."""
    async with engine.connect() as retagging, engine.connect() as deleting:
        await retagging.execute(UNLINK, {"post": kept, "tag": first_tag})
        deletion = asyncio.create_task(
            deleting.execute(text("DELETE FROM auth.users WHERE id = :id"), {"id": leaving})
        )
        async with engine.connect() as watching:
            await wait_for_lock_waits(watching, 1)
        await retagging.execute(retag, retag_with)
        await retagging.commit()
        await deletion
        await deleting.commit()


async def test_an_account_deletion_locks_its_tags_in_id_order(
    engine: AsyncEngine, blog: CommittedBlog
) -> None:
    """Its posts go one by one, the first on the later tag: locking each post's tags in turn
    deadlocked with a writer that holds the earlier tag and then wants the later one."""
    leaving, staying = await blog.user("Lea"), await blog.user("Sam")
    earlier, later = await blog.ordered_tags(2)
    await blog.post(leaving, [later], published=True)
    await blog.post(leaving, [earlier], published=True)
    kept = await blog.post(staying, [earlier], published=True)
    await blog.session.commit()
    await delete_account_while_retagging(
        engine, leaving, kept, earlier, LINK, {"post": kept, "tag": later}
    )
    blog.authors.remove(leaving)
    assert (await blog.count("tags", earlier), await blog.count("tags", later)) == (0, 1)
    assert await drift(engine) == []


async def test_posts_trading_tags_take_their_locks_in_one_order(
    engine: AsyncEngine, blog: CommittedBlog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change removes a link and then adds one; both are held between the two steps.
    Removing first and locking as each step came deadlocked: each held the tag it removed
    and wanted the one the other removed."""
    author = await blog.user("Tom")
    first_tag, second_tag = await blog.ordered_tags(2)
    first = await blog.post(author, [first_tag], published=True)
    second = await blog.post(author, [second_tag], published=True)
    await blog.session.commit()
    gate, first_at_gate = asyncio.Event(), asyncio.Event()
    add_post_tags = tag_repository.add_post_tags

    async def held_before_adding(
        session: AsyncSession, post: uuid.UUID, tags: Sequence[Tag]
    ) -> int:
        first_at_gate.set()
        await gate.wait()
        return await add_post_tags(session, post, tags)

    monkeypatch.setattr(tag_repository, "add_post_tags", held_before_adding)

    async def retag(post: uuid.UUID, tag: uuid.UUID) -> None:
        async with AsyncSession(engine) as session:
            wanted = (await session.exec(select(Tag).where(col(Tag.id) == tag))).all()
            await tag_repository.replace_post_tags(session, post, wanted)
            await session.commit()

    swapping = asyncio.create_task(retag(first, second_tag))
    await first_at_gate.wait()
    swapped = asyncio.create_task(retag(second, first_tag))
    try:
        async with engine.connect() as watching:
            await wait_for_lock_waits(watching, 1)
    finally:
        gate.set()
        await asyncio.gather(swapping, swapped)
    assert (await blog.count("tags", first_tag), await blog.count("tags", second_tag)) == (1, 1)
    assert await drift(engine) == []


async def test_new_tags_are_inserted_in_slug_order(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests inserting the same new slugs in other orders would each wait for a row
    the other inserted (a deadlock); names do not sort as their slugs do."""
    inserted: list[list[str]] = []
    run = session.exec

    async def recorded(statement: object, **keywords: object) -> object:
        if statement is tag_repository._insert_tags():
            params = keywords["params"]
            assert isinstance(params, dict)
            inserted.append(params["slugs"])
        return await run(statement, **keywords)  # type: ignore[call-overload]

    monkeypatch.setattr(session, "exec", recorded)
    word = uuid.uuid4().hex[:8]
    await tag_repository.find_or_create(session, [f"d! {word}", f"ç {word}"])
    assert inserted == [[f"c-{word}", f"d-{word}"]]


RETAG_ALL = text(
    "INSERT INTO post_tags (post_id, tag_id) SELECT :post, unnest(CAST(:tags AS uuid[]))"
)
# Fixed ids, so that the order a plan happens to return them in is the same on every run.
MANY_TAGS = [uuid.UUID(int=(n * 0x9E3779B97F4A7C15 % 2**64) << 64 | 0x10C) for n in range(1, 9)]


async def test_an_account_deletion_locks_many_tags_in_id_order(
    engine: AsyncEngine, blog: CommittedBlog
) -> None:
    """As above, over eight tags: taken in any order but the ids', the deletion holds a later
    tag while it waits for the earliest, and the writer that holds the earliest and then
    wants the others deadlocks with it."""
    leaving, staying = await blog.user("Lou"), await blog.user("Max")
    for tag_id in MANY_TAGS:
        slug = f"lock-{tag_id.hex[:12]}"
        await run_sql(
            blog.session,
            "INSERT INTO tags (id, name, slug) VALUES (:id, :s, :s)",
            id=tag_id,
            s=slug,
        )
        blog.tags.append(tag_id)
    earliest, *others = sorted(MANY_TAGS)
    await blog.post(leaving, MANY_TAGS, published=True)
    kept = await blog.post(staying, [earliest], published=True)
    await blog.session.commit()
    await delete_account_while_retagging(
        engine, leaving, kept, earliest, RETAG_ALL, {"post": kept, "tags": others}
    )
    blog.authors.remove(leaving)
    assert [await blog.count("tags", tag) for tag in sorted(MANY_TAGS)] == [0] + [1] * 7
    assert await drift(engine) == []


async def test_moving_a_publication_time_leaves_its_tags_unlocked(
    engine: AsyncEngine, blog: CommittedBlog
) -> None:
    """Its links are rewritten with the same post and tag (0027): no count changes, so no tag
    is locked, and a writer holding the tag does not hold the edit up."""
    author = await blog.user("Nell")
    [tag] = await blog.ordered_tags(1)
    moved = await blog.post(author, [tag], published=True)
    other = await blog.post(author, [], published=True)
    await blog.session.commit()
    async with engine.connect() as tagging, engine.connect() as editing:
        await tagging.execute(LINK, {"post": other, "tag": tag})  # holds the tag's row
        await editing.execute(text("SET lock_timeout = '500ms'"))
        await editing.execute(
            text("UPDATE posts SET published_at = now() - interval '1 day' WHERE id = :id"),
            {"id": moved},
        )
        await editing.commit()
        await tagging.commit()
    assert await blog.count("tags", tag) == 2
    assert await drift(engine) == []
