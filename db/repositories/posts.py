"""Posts: unique slugs under concurrency, keyset pages with their authors and tags in bulk."""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, TypedDict

import asyncpg
from slugify import slugify
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Text,
    Uuid,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.selectable import ScalarSelect, SelectBase
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from db.models import SEARCH_CONFIGURATION, Post, PostTag, Tag, User, search_vector
from db.models.post import SLUG_MAX
from db.repositories.pages import Keyset, Ordering, Page, newest_first, page_bounds, page_of
from db.repositories.patterns import escape_like
from db.repositories.rows import (
    STATEMENT_CACHE_SIZE,
    CompiledQuery,
    Reader,
    StatementTimedOut,
    fetch,
    sql_integer,
)

# A search whose words look common but match few posts walks the newest posts until it has a
# page: all of them when nothing matches (`q=python -python`), ~3 µs a post, 2.7 s at a
# million. Tags seldom on one post together walk the rarest one's posts likewise (0.6 s for
# 200,000). Any client can ask for either, so such a list gets this long and is then cancelled.
FILTER_SECONDS = 1.0
# Room for "-<number>" or "-<8 hex digits>" after the title's slug.
SLUG_SUFFIX_ROOM = 9
NUMBERED_SLUG_ATTEMPTS = 3
MAX_SLUG_ATTEMPTS = 8


class FilterTooSlow(Exception):
    """A search, or several tags, that PostgreSQL could not answer within FILTER_SECONDS."""

    def __init__(self, filters: "PostFilter") -> None:
        super().__init__(filters.query or filters.tags)
        self.searching = bool(filters.query)


@dataclass(frozen=True)
class PostFilter:
    tags: Sequence[str] = field(default_factory=tuple)
    author_id: uuid.UUID | None = None
    query: str | None = None


@dataclass(frozen=True)
class NewPost:
    author_id: uuid.UUID
    title: str
    content: str
    published: bool


# A statement selecting the columns of a list (see `_listed`).
RowsSelect = Select[*tuple[Any, ...]]


# Views are typed dicts: a page builds ~100 of them, dicts are the cheapest to build, and the
# API encodes them as they are. Their keys come in the order of the API's response models.
class AuthorView(TypedDict):
    name: str
    id: uuid.UUID


class TagView(TypedDict):
    name: str
    slug: str


class PostView(TypedDict):
    """A post as lists and its own page show it: plain values, with its author and tags, read
    without the ORM."""

    title: str
    content: str
    id: uuid.UUID
    slug: str
    published: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    author: AuthorView
    tags: list[TagView]


def base_slug(title: str) -> str:
    max_length = SLUG_MAX - SLUG_SUFFIX_ROOM
    return slugify(title, max_length=max_length, word_boundary=True) or "post"


async def create(session: AsyncSession, new: NewPost) -> uuid.UUID:
    """Insert a post under a unique slug derived from its title; return its id.

    The slug is claimed with `ON CONFLICT (slug) DO NOTHING`: a collision, even with a
    concurrent request, costs a retry with a number above the count of slugs taken from the
    same base, then with a random suffix.
    """
    base = base_slug(new.title)
    for attempt in range(MAX_SLUG_ATTEMPTS):
        slug = await _candidate_slug(session, base, attempt)
        post_id = await _insert_unless_slug_taken(session, new, slug)
        if post_id is not None:
            return post_id
    raise RuntimeError("no free slug after several random suffixes")  # pragma: no cover


async def _insert_unless_slug_taken(
    session: AsyncSession, new: NewPost, slug: str
) -> uuid.UUID | None:
    statement = (
        insert(Post)
        .values(
            author_id=new.author_id,
            title=new.title,
            content=new.content,
            slug=slug,
            is_published=new.published,
        )
        .on_conflict_do_nothing(index_elements=[col(Post.slug)])
        .returning(col(Post.id))
    )
    return (await session.exec(statement)).scalar()


async def _candidate_slug(session: AsyncSession, base: str, attempt: int) -> str:
    if attempt == 0:
        return base
    if attempt > NUMBERED_SLUG_ATTEMPTS:
        return f"{base}-{secrets.token_hex(4)}"
    pattern = f"{escape_like(base)}-%"
    taken = select(func.count()).where(
        or_(col(Post.slug) == base, col(Post.slug).like(pattern, escape="\\"))
    )
    count = (await session.exec(taken)).one()
    return f"{base}-{count + attempt}"


async def by_slug(session: AsyncSession, slug: str, *, for_update: bool = False) -> Post | None:
    """The post alone (its author and tags stay unloaded); `for_update` locks its row until the
    transaction ends.

    Its author's row is locked first, FOR KEY SHARE: a change of the post may then lock that
    row for its count, and an account's deletion locks the user's row before the posts (the
    row's DELETE, then its trigger). Locking the post first deadlocked with such a deletion.
    KEY SHARE waits only for a deletion (or FOR UPDATE), never for another count's update.
    """
    statement = select(Post).where(col(Post.slug) == slug)
    if for_update:
        author = select(Post.author_id).where(col(Post.slug) == slug).scalar_subquery()
        await session.exec(
            select(col(User.id))
            .where(col(User.id) == author)
            .with_for_update(read=True, key_share=True)
        )
        statement = statement.with_for_update(of=Post)
    return (await session.exec(statement)).one_or_none()


async def update(session: AsyncSession, post: Post, changes: dict[str, Any]) -> None:
    """Apply a partial update; the database stamps `published_at` on the first publication."""
    columns = dict(changes)
    if "published" in columns:
        columns["is_published"] = columns.pop("published")
    post.sqlmodel_update(columns)
    session.add(post)
    await session.flush()


async def delete(session: AsyncSession, post: Post) -> None:
    await session.exec(sql_delete(Post).where(col(Post.id) == post.id))


async def published(
    reader: Reader, filters: PostFilter, limit: int, after: Keyset | None
) -> Page[PostView]:
    """Published posts, newest first, one keyset page, each with its author and tags."""
    tags = tuple(dict.fromkeys(filters.tags))
    # A search keeps its page size bound, and so PostgreSQL plans each search for its words: a
    # common word walks the newest posts, a rare one reads the GIN index. A cached plan would
    # serve every search one way.
    page_size = None if filters.query else limit
    query = _published_matching(
        len(tags), filters.author_id is not None, bool(filters.query), after is not None, page_size
    )
    params = page_bounds(after, limit) | {f"tag_{i}": tag for i, tag in enumerate(tags)}
    if filters.author_id is not None:
        params["author_id"] = filters.author_id
    if filters.query:
        params["query"] = filters.query
    time_limit = FILTER_SECONDS if filters.query or len(tags) > 1 else None
    try:
        views = await _views(reader, query, params, time_limit)
    except StatementTimedOut as error:
        raise FilterTooSlow(filters) from error
    return page_of(views, limit, _published_keyset)


def _published_keyset(post: PostView) -> Keyset:
    published_at = post["published_at"]
    assert published_at is not None
    return Keyset(published_at, post["id"])


# Lists build and compile their statements once per shape and page size: the values are bound
# parameters. Building and cache-keying a statement cost ~1M instructions per request of
# list_posts (`make bench`), about a tenth of the whole request.
@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _published_matching(
    tag_count: int, by_author: bool, searching: bool, after: bool, limit: int | None
) -> CompiledQuery:
    posts = _post_columns().where(col(Post.is_published))
    at: Ordering = col(Post.published_at)
    key: Ordering = col(Post.id)
    if tag_count:
        posts, at, key = _tagged(posts, tag_count)
    if by_author:
        posts = posts.where(col(Post.author_id) == bindparam("author_id", type_=Uuid()))
    if searching:
        query = func.websearch_to_tsquery(
            literal_column(f"'{SEARCH_CONFIGURATION}'::regconfig"), bindparam("query", type_=Text())
        )
        posts = posts.where(search_vector.op("@@")(query))
    page = newest_first(posts, at, key, after=after, limit=limit)
    return CompiledQuery.of(_listed(page, order_by="published_at"))


def _tagged(posts: RowsSelect, tag_count: int) -> tuple[RowsSelect, Ordering, Ordering]:
    """Posts with every one of the tags `tag_0`…, read from a tag's listing index.

    Each link carries its post's `published_at` while the post is published, and an index
    orders a tag's links by it (migration 0006): a page is that index's first entries, so it
    costs the same on a tag of a million posts as on a tag of none. Filtering all published
    posts by their links instead walked the whole table for a tag on no post (5.5 s at a
    million posts).

    Several tags are read from the rarest one's entries, newest first, until a page of them
    has every tag. That check counts the entry's links to the tags, a subquery per entry: an
    EXISTS per tag would be flattened into joins that the planner, misjudging how many posts
    have both tags, answered by hashing all the tags' links (0.3-1.2 s for two tags at a
    million posts, against 11 ms this way). Two values may name one tag (`Python`, `python`).
    """
    listing = aliased(PostTag, name="listing")
    listed_at: ColumnElement[datetime] = listing.post_published_at  # type: ignore[assignment]
    listed_post: ColumnElement[uuid.UUID] = listing.post_id  # type: ignore[assignment]
    values = [bindparam(f"tag_{i}", type_=Text()) for i in range(tag_count)]
    posts = posts.join(listing, listed_post == col(Post.id)).where(listed_at.is_not(None))
    if tag_count == 1:
        return posts.where(listing.tag_id == _tag_id(values[0])), listed_at, listed_post
    named_ids = [_tag_id(value) for value in values]
    named = col(Tag.id).in_(named_ids)
    every_named = and_(*(tag_id.is_not(None) for tag_id in named_ids))
    distinct = select(func.count()).where(named).scalar_subquery()
    tag_ids = select(col(Tag.id)).where(named)
    tagged = (
        select(func.count())
        .select_from(PostTag)
        .where(col(PostTag.post_id) == listed_post, _one_of(col(PostTag.tag_id), tag_ids))
        .scalar_subquery()
    )
    posts = posts.where(listing.tag_id == _rarest_tag(named), every_named, tagged == distinct)
    return posts, listed_at, listed_post


def _one_of(column: Mapped[uuid.UUID], values: SelectBase) -> ColumnElement[bool]:
    """`column = ANY(ARRAY(SELECT …))`: the values are collected once, then looked up in the
    column's index one by one. As `IN (SELECT …)`, a semi-join the planner may answer by
    scanning the whole table."""
    return column == func.any(func.array(values.scalar_subquery()))


def _tag_id(value: ColumnElement[str]) -> ScalarSelect[uuid.UUID]:
    """The tag `value` names: the one with that slug, else the one with that name in any case
    (as tags are found when posts are written)."""
    by_slug = col(Tag.slug) == value
    return (
        select(col(Tag.id))
        .where(or_(by_slug, func.lower(col(Tag.name)) == func.lower(value)))
        .order_by(by_slug.desc())
        .limit(sql_integer(1))
        .scalar_subquery()
    )


def _rarest_tag(named: ColumnElement[bool]) -> ScalarSelect[uuid.UUID]:
    return (
        select(col(Tag.id))
        .where(named)
        .order_by(col(Tag.published_post_count), col(Tag.id))
        .limit(sql_integer(1))
        .scalar_subquery()
    )


def _post_columns() -> RowsSelect:
    statement: RowsSelect = Select(
        col(Post.id),
        col(Post.slug),
        col(Post.title),
        col(Post.content),
        col(Post.is_published),
        col(Post.published_at),
        col(Post.created_at),
        col(Post.updated_at),
        col(Post.author_id),
    )
    return statement


def _listed(posts: RowsSelect, *, order_by: str | None = None) -> RowsSelect:
    """The rows of `posts` (a select of `_post_columns`) with their author's name, and their
    tags' names and slugs as arrays, in one statement, newest `order_by` first.

    The page is selected first; its tags are then read for all its posts at once, against one
    hash of the tags. Aggregating them per post in a LATERAL subquery instead had PostgreSQL
    hash all 200 tags again for every post: PostgreSQL ran 1,400 list pages a second that
    way, and 2,500-3,300 this way (pgbench, two clients, 1,000,000 posts). The page's ids
    are given as an array (`_one_of`), not as `IN (SELECT …)`: for a page of 100 the planner
    would rather hash the semi-join against a scan of all `post_tags`.
    """
    page = posts.cte("page")
    tag_order = col(Tag.name)
    page_tags = (
        select(
            col(PostTag.post_id),
            func.array_agg(aggregate_order_by(col(Tag.name), tag_order)).label("tag_names"),
            func.array_agg(aggregate_order_by(col(Tag.slug), tag_order)).label("tag_slugs"),
        )
        .join(Tag, col(Tag.id) == col(PostTag.tag_id))
        .where(_one_of(col(PostTag.post_id), select(page.c.id)))
        .group_by(col(PostTag.post_id))
        .subquery("page_tags")
    )
    statement: RowsSelect = (
        Select(
            *page.c,
            col(User.name).label("author_name"),
            page_tags.c.tag_names,
            page_tags.c.tag_slugs,
        )
        .join(User, col(User.id) == page.c.author_id)
        .outerjoin(page_tags, page_tags.c.post_id == page.c.id)
    )
    if order_by is not None:
        statement = statement.order_by(page.c[order_by].desc(), page.c.id.desc())
    return statement


async def _views(
    reader: Reader, query: CompiledQuery, params: dict[str, Any], time_limit: float | None = None
) -> list[PostView]:
    """The rows of a list statement as plain values.

    Lists read rows, not ORM objects: identity-mapping a page's ~100 SQLModel instances
    (posts, authors, tags) cost ~5 ms of CPU per page of 20, several times the queries
    themselves (`make bench`, list_posts: 5% of the raw asyncpg ceiling before, see
    bench/README.md).
    """
    return [_post_view(row) for row in await fetch(reader, query, params, time_limit=time_limit)]


# Dict displays rather than calls of the TypedDicts, which build the same dict through keyword
# arguments at 2.5 times the cost, ~80 times a page.
def _post_view(row: asyncpg.Record) -> PostView:
    return {
        "title": row["title"],
        "content": row["content"],
        "id": row["id"],
        "slug": row["slug"],
        "published": row["is_published"],
        "published_at": row["published_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "author": {"name": row["author_name"], "id": row["author_id"]},
        "tags": _tag_views(row["tag_names"], row["tag_slugs"]),
    }


def _tag_views(names: list[str] | None, slugs: list[str] | None) -> list[TagView]:
    # A post without tags aggregates to NULL arrays.
    return [
        {"name": name, "slug": slug} for name, slug in zip(names or (), slugs or (), strict=True)
    ]


async def view_by_id(reader: Reader, post_id: uuid.UUID) -> PostView:
    """A post just written, as lists show it, read back in one statement."""
    [post] = await _views(reader, _by_id(), {"post_id": post_id})
    return post


@cache
def _by_id() -> CompiledQuery:
    return CompiledQuery.of(
        _listed(_post_columns().where(col(Post.id) == bindparam("post_id", type_=Uuid())))
    )


async def view_by_slug(reader: Reader, slug: str) -> PostView | None:
    """A post by slug, published or not, with its author and tags, in one statement."""
    found = await _views(reader, _by_slug(), {"slug": slug})
    return found[0] if found else None


@cache
def _by_slug() -> CompiledQuery:
    return CompiledQuery.of(
        _listed(_post_columns().where(col(Post.slug) == bindparam("slug", type_=Text())))
    )


async def by_author(
    reader: Reader,
    author_id: uuid.UUID,
    published: bool | None,
    limit: int,
    after: Keyset | None,
) -> Page[PostView]:
    """An author's own posts, drafts included unless filtered, newest created first."""
    query = _by_author(published is not None, after is not None, limit)
    params = page_bounds(after, limit) | {"author_id": author_id}
    if published is not None:
        params["published"] = published
    return page_of(await _views(reader, query, params), limit, _created_keyset)


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _by_author(by_state: bool, after: bool, limit: int) -> CompiledQuery:
    posts = _post_columns().where(col(Post.author_id) == bindparam("author_id", type_=Uuid()))
    if by_state:
        posts = posts.where(col(Post.is_published) == bindparam("published", type_=Boolean()))
    page = newest_first(posts, col(Post.created_at), col(Post.id), after=after, limit=limit)
    return CompiledQuery.of(_listed(page, order_by="created_at"))


def _created_keyset(post: PostView) -> Keyset:
    return Keyset(post["created_at"], post["id"])
