"""Tags: found or created by name in one upsert, and counted over published posts."""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from slugify import slugify
from sqlalchemy import Table, Text, Uuid, bindparam, delete, except_, func, union, update
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from db.models import Post, PostTag, Tag
from db.models.tag import TAG_SLUG_MAX
from db.repositories.rows import (
    STATEMENT_CACHE_SIZE,
    CompiledQuery,
    Reader,
    fetch,
    sql_integer,
)

MAX_SLUG_ATTEMPTS = 5
# A taken slug gets 4 random hex digits, then 8: anyone may create tags, and 65,536 of them
# would take every short suffix of a name.
SHORT_SUFFIX_BYTES = 2
LONG_SUFFIX_BYTES = 4


@dataclass(frozen=True)
class TagCount:
    name: str
    slug: str
    post_count: int


def tag_slug(name: str, suffix: str = "") -> str:
    base = slugify(name, max_length=TAG_SLUG_MAX - len(suffix), word_boundary=False) or "tag"
    return f"{base}{suffix}"


async def find_or_create(session: AsyncSession, names: Sequence[str]) -> list[Tag]:
    """Tags for `names` (already trimmed and folded), creating the unknown ones.

    `ON CONFLICT DO NOTHING` makes concurrent requests naming the same new tag share one row:
    the loser waits for the winner's commit, inserts nothing, and the SELECT then sees it.
    A different name with the same slug ("C++" after "C") gets a suffixed slug.
    """
    wanted = {name.lower(): name for name in names}
    # In one order for every request, the slugs': two requests that create the same new tags
    # would otherwise each wait on a row the other inserted first (a deadlock). Names that
    # clash clash by slug too, but slugs do not sort as names do ("ç" gives "c").
    in_slug_order = sorted(wanted, key=_slug_order)
    found: dict[str, Tag] = {}
    for attempt in range(MAX_SLUG_ATTEMPTS):
        missing = [wanted[key] for key in in_slug_order if key not in found]
        if not missing:
            break
        suffix = _slug_suffix(attempt)
        slugs = [tag_slug(name, suffix) for name in missing]
        await session.exec(_insert_tags(), params={"names": missing, "slugs": slugs})
        found |= await _by_lower_name(session, missing)
    if unplaced := [name for key, name in wanted.items() if key not in found]:
        raise RuntimeError(f"no free slug for the tags {unplaced!r}")  # pragma: no cover
    return [found[key] for key in wanted]


def _slug_order(name: str) -> tuple[str, str]:
    return tag_slug(name), name


def _slug_suffix(attempt: int) -> str:
    if attempt == 0:
        return ""
    return f"-{secrets.token_hex(SHORT_SUFFIX_BYTES if attempt == 1 else LONG_SUFFIX_BYTES)}"


def _table(model: type[SQLModel]) -> Table:
    return model.metadata.tables[str(model.__tablename__)]


# New tags and links are inserted from arrays (`unnest`), not as a multi-row VALUES: SQLAlchemy
# compiles a statement once for all calls, but a VALUES list again on every call. Those were two
# compilations per created post: 7.3-9.1 ms of the server's CPU per create_post, 6.2-6.6 since.
@cache
def _insert_tags() -> Insert:
    names = bindparam("names", type_=ARRAY(Text))
    slugs = bindparam("slugs", type_=ARRAY(Text))
    new = func.unnest(names, slugs).table_valued("name", "slug").render_derived()
    rows = select(new.c.name, new.c.slug)
    # A Core table: an ORM insert executed with parameters is a bulk insert of those rows. No
    # Python defaults: one value would be written into every row (the same id for each tag).
    new_tags = insert(_table(Tag)).from_select(["name", "slug"], rows, include_defaults=False)
    return new_tags.on_conflict_do_nothing()


@cache
def _insert_links() -> Insert:
    post_id = bindparam("post_id", type_=Uuid())
    tag_ids = bindparam("tag_ids", type_=ARRAY(Uuid()))
    rows = select(post_id, func.unnest(tag_ids))
    links = insert(_table(PostTag)).from_select(["post_id", "tag_id"], rows, include_defaults=False)
    return links.on_conflict_do_nothing()


async def _by_lower_name(session: AsyncSession, names: Sequence[str]) -> dict[str, Tag]:
    """The tags named `names` in any case, keyed by the asked name in lower case.

    PostgreSQL lowers both sides, as the unique index on `lower(name)` does: outside ASCII,
    Python's `str.lower()` and the database's (ASCII only in the C locale) disagree.
    """
    rows = await session.exec(_tags_by_lower_name(), params={"names": list(names)})
    return {asked.lower(): tag for asked, tag in rows}


@cache
def _tags_by_lower_name() -> Select[str, Tag]:
    asked = func.unnest(bindparam("names", type_=ARRAY(Text))).table_valued("name")
    asked_name = asked.render_derived().c.name
    return select(asked_name, Tag).join(Tag, func.lower(Tag.name) == func.lower(asked_name))


async def replace_post_tags(session: AsyncSession, post_id: uuid.UUID, tags: Sequence[Tag]) -> None:
    """Make `tags` the post's whole tag set; a post whose tags change is updated."""
    keep = [tag.id for tag in tags]
    await _lock_changing_tag_counts(session, post_id, keep)
    removed = await session.exec(
        delete(PostTag).where(col(PostTag.post_id) == post_id, col(PostTag.tag_id).not_in(keep))
    )
    added = await add_post_tags(session, post_id, tags)
    if removed.rowcount or added:
        # Its tags are part of the post clients read: `updated_at` tells them to read it again.
        await session.exec(
            update(Post).where(col(Post.id) == post_id).values(updated_at=func.clock_timestamp())
        )


async def _lock_changing_tag_counts(
    session: AsyncSession, post_id: uuid.UUID, keep: Sequence[uuid.UUID]
) -> None:
    """Lock the tags whose counts a published post's new tag set changes, in id order.

    Removing links and adding them are two statements, and each locks its own tags: two
    posts trading tags would each hold one and wait for the other's (a deadlock).
    """
    await session.exec(_changing_tags(), params={"post_id": post_id, "keep": list(keep)})


@cache
def _changing_tags() -> SelectOfScalar[uuid.UUID]:
    post_id = bindparam("post_id", type_=Uuid())
    keep = bindparam("keep", type_=ARRAY(Uuid()))
    linked = select(PostTag.tag_id).where(col(PostTag.post_id) == post_id)
    kept = select(func.unnest(keep).column_valued())
    changing = union(except_(linked, kept), except_(kept, linked))
    published = select(Post.id).where(col(Post.id) == post_id, col(Post.is_published))
    return (
        select(col(Tag.id))
        .where(col(Tag.id).in_(changing), published.exists())
        .order_by(col(Tag.id))
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE, as the count's UPDATE takes
    )


async def add_post_tags(session: AsyncSession, post_id: uuid.UUID, tags: Sequence[Tag]) -> int:
    """Tag the post with `tags` too; links it already has stay as they are. Returns how many
    links were added."""
    if not tags:
        return 0
    params = {"post_id": post_id, "tag_ids": [tag.id for tag in tags]}
    result = await session.exec(_insert_links(), params=params)
    return int(result.rowcount)


async def most_used(reader: Reader, limit: int) -> list[TagCount]:
    """Tags of published posts with their counts, most used first, then by name.

    Read like the post lists, as rows (`db.repositories.rows`): one statement, without a
    transaction around it.
    """
    rows = await fetch(reader, _most_used(limit), {})
    return [
        TagCount(name=row["name"], slug=row["slug"], post_count=row["published_post_count"])
        for row in rows
    ]


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _most_used(limit: int) -> CompiledQuery:
    return CompiledQuery.of(
        select(col(Tag.name), col(Tag.slug), col(Tag.published_post_count))
        .where(col(Tag.published_post_count) > sql_integer(0))
        .order_by(col(Tag.published_post_count).desc(), col(Tag.name))
        .limit(sql_integer(limit))
    )
