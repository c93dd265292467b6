"""The schema's guarantees: case-insensitive uniqueness, cascades, timestamps, no drift."""

import uuid

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.schemas.common import AvatarUrl, Title
from db import migrate
from db.models import SEARCH_CONFIGURATION
from tests.support import column, create_account, run_sql


async def new_user(session: AsyncSession, email: str) -> uuid.UUID:
    user_id = await create_account(session, email)
    await run_sql(
        session,
        "INSERT INTO users (id, email, name) VALUES (:id, :email, 'Someone')",
        id=user_id,
        email=email,
    )
    return user_id


async def new_post(
    session: AsyncSession, author_id: uuid.UUID, title: str, content: str, slug: str
) -> uuid.UUID:
    inserted = await run_sql(
        session,
        "INSERT INTO posts (author_id, title, content, slug) "
        "VALUES (:author_id, :title, :content, :slug) RETURNING id",
        author_id=author_id,
        title=title,
        content=content,
        slug=slug,
    )
    post_id: uuid.UUID = inserted.scalar_one()
    return post_id


async def test_email_is_unique_whatever_its_case(session: AsyncSession) -> None:
    await new_user(session, "Ada@Example.com")
    with pytest.raises(IntegrityError, match="uq_users_email_lower"):
        await new_user(session, "ada@example.COM")


async def test_tag_name_is_unique_whatever_its_case(session: AsyncSession) -> None:
    await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('Python', 'python')")
    with pytest.raises(IntegrityError, match="uq_tags_name_lower"):
        await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('PYTHON', 'python-2')")


async def test_role_is_one_of_the_known_roles(session: AsyncSession) -> None:
    user_id = await new_user(session, "role@example.com")
    with pytest.raises(IntegrityError, match="ck_users_role"):
        await run_sql(session, "UPDATE users SET role = 'owner' WHERE id = :id", id=user_id)


async def test_deleting_an_account_cascades_to_everything_it_owns(session: AsyncSession) -> None:
    user_id = await new_user(session, "gone@example.com")
    await run_sql(
        session, "INSERT INTO user_profiles (user_id, bio) VALUES (:id, 'hi')", id=user_id
    )
    post_id = (
        await run_sql(
            session,
            "INSERT INTO posts (author_id, title, content, slug) VALUES (:id, 't', 'c', 'gone') "
            "RETURNING id",
            id=user_id,
        )
    ).scalar()
    tag_id = (
        await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('kept', 'kept') RETURNING id")
    ).scalar()
    await run_sql(
        session, "INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t)", p=post_id, t=tag_id
    )

    await run_sql(session, "DELETE FROM auth.users WHERE id = :id", id=user_id)

    for table in ("users", "user_profiles", "posts", "post_tags"):
        assert (await run_sql(session, f"SELECT count(*) FROM {table}")).scalar() == 0, table
    assert (await run_sql(session, "SELECT count(*) FROM tags")).scalar() == 1


async def test_deleting_a_post_removes_its_links_and_keeps_its_tags(session: AsyncSession) -> None:
    user_id = await new_user(session, "author@example.com")
    post_id = await new_post(session, user_id, "t", "c", "p")
    tag_id = (
        await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('t', 't') RETURNING id")
    ).scalar()
    await run_sql(session, "INSERT INTO post_tags VALUES (:p, :t)", p=post_id, t=tag_id)
    await run_sql(session, "DELETE FROM posts WHERE id = :id", id=post_id)
    assert (await run_sql(session, "SELECT count(*) FROM post_tags")).scalar() == 0
    assert (await run_sql(session, "SELECT count(*) FROM tags")).scalar() == 1


ROW_OF = {
    "users": ("SELECT CAST(:id AS uuid)", "name"),
    "user_profiles": ("INSERT INTO user_profiles (user_id) VALUES (:id) RETURNING id", "bio"),
    "posts": (
        "INSERT INTO posts (author_id, title, content, slug) VALUES (:id, 't', 'c', 's') "
        "RETURNING id",
        "title",
    ),
}


@pytest.mark.parametrize("table", sorted(ROW_OF))
async def test_updated_at_moves_on_every_update(session: AsyncSession, table: str) -> None:
    create_row, column = ROW_OF[table]
    row_id = (
        await run_sql(session, create_row, id=await new_user(session, "t@example.com"))
    ).scalar()
    read = f"SELECT updated_at FROM {table} WHERE id = :id"
    before = (await run_sql(session, read, id=row_id)).scalar()
    await run_sql(session, f"UPDATE {table} SET {column} = 'changed' WHERE id = :id", id=row_id)
    after = (await run_sql(session, read, id=row_id)).scalar()
    assert after > before  # type: ignore[operator]


def test_models_and_migrations_agree(database_url: str, direct_url: str) -> None:
    migrate.check(direct_url)


async def test_a_post_of_a_few_kilobytes_stays_whole_in_its_row(session: AsyncSession) -> None:
    """Neither compressed nor moved to TOAST: searches read the document from the row."""
    user_id = await new_user(session, "inline@example.com")
    # ~2 KB of content and its ~1.2 KB document: past the ~2 KB at which rows are toasted.
    content = " ".join(f"postgres{n % 80}" for n in range(280))
    post_id = await new_post(session, user_id, "Inline", content, "inline")
    stored = await run_sql(
        session,
        "SELECT pg_column_compression(content), pg_column_compression(search_vector), "
        "pg_stat_get_xact_tuples_inserted(c.reltoastrelid), "
        "octet_length(content) + pg_column_size(search_vector) "
        "FROM posts p, pg_class c WHERE p.id = :id AND c.oid = 'posts'::regclass",
        id=post_id,
    )
    content_compression, document_compression, toasted_chunks, size = stored.one()
    assert size > 3000
    assert content_compression is None
    assert document_compression is None
    assert toasted_chunks == 0


async def test_a_posts_search_document_follows_its_text(session: AsyncSession) -> None:
    """Kept by a trigger (0018): set on insert, and on every write of title, content or itself."""
    user_id = await new_user(session, "document@example.com")
    post_id = await new_post(session, user_id, "Cats", "Running dogs", "cats")
    read = "SELECT search_vector::text FROM posts WHERE id = :id"
    assert (await run_sql(session, read, id=post_id)).scalar() == "'cat':1 'dog':3 'run':2"
    await run_sql(session, "UPDATE posts SET content = 'Sleeping birds' WHERE id = :id", id=post_id)
    assert (await run_sql(session, read, id=post_id)).scalar() == "'bird':3 'cat':1 'sleep':2"
    await run_sql(session, "UPDATE posts SET search_vector = 'forged' WHERE id = :id", id=post_id)
    assert (await run_sql(session, read, id=post_id)).scalar() == "'bird':3 'cat':1 'sleep':2"


async def test_publishing_a_post_leaves_its_document_alone(session: AsyncSession) -> None:
    """The trigger fires on writes of the text (or the document) only, not on every update."""
    user_id = await new_user(session, "publish@example.com")
    post_id = await new_post(session, user_id, "Cats", "Dogs", "cats-dogs")
    # A document the trigger would not compute, written with it off (in this transaction).
    await run_sql(session, "ALTER TABLE posts DISABLE TRIGGER posts_search_vector")
    await run_sql(session, "UPDATE posts SET search_vector = 'kept' WHERE id = :id", id=post_id)
    await run_sql(session, "ALTER TABLE posts ENABLE TRIGGER posts_search_vector")
    await run_sql(session, "UPDATE posts SET is_published = true WHERE id = :id", id=post_id)
    read = "SELECT search_vector::text FROM posts WHERE id = :id"
    assert (await run_sql(session, read, id=post_id)).scalar() == "'kept'"


async def test_the_search_index_holds_published_posts_only(session: AsyncSession) -> None:
    """Every search is over published posts (0026): drafts' words stay out of the index."""
    definition = await run_sql(
        session, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_posts_search_published'"
    )
    assert definition.scalar_one().endswith("USING gin (search_vector) WHERE is_published")


async def test_the_trigger_and_searches_use_one_configuration(session: AsyncSession) -> None:
    body = "SELECT prosrc FROM pg_proc WHERE proname = 'set_post_search_vector'"
    assert f"'{SEARCH_CONFIGURATION}'::regconfig" in (await run_sql(session, body)).scalar_one()


BMP = [chr(code) for code in range(1, 0x10000) if not 0xD800 <= code <= 0xDFFF]
# Format characters past the BMP (shorthand, musical, tag characters), which the rules leave
# alone as JavaScript could not read them in the OpenAPI document: both sides must agree.
BEYOND_THE_BMP = [
    chr(code)
    for code in (0x1BC9F, 0x1BCA0, 0x1BCA3, 0x1BCA4, 0x1D172, 0x1D173, 0x1D17A, 0x1D17B,
                 0xE0000, 0xE0001, 0xE0002, 0xE001F, 0xE0020, 0xE007F, 0xE0080, 0x1F600, 0x10000)
]  # fmt: skip


async def test_the_database_takes_the_titles_the_api_takes(session: AsyncSession) -> None:
    """The title rule as PostgreSQL holds it, against the API's, over every character of the
    Basic Multilingual Plane and the format characters beyond it, alone, between letters and
    after one (the Data API's writes and the API's must agree)."""
    titles = [title for c in [*BMP, *BEYOND_THE_BMP] for title in (c, f"a{c}b", f"{c}a")]
    rule = "ck_posts_title_one_visible_line"
    assert await _disagreements(session, rule, "title", titles, TypeAdapter(Title)) == []


async def test_the_database_takes_the_avatar_urls_the_api_takes(session: AsyncSession) -> None:
    """The avatar URL rule as PostgreSQL holds it, against the API's, over every character of
    the Basic Multilingual Plane and the format characters beyond it, in the host, in the user
    part, in the path, and alone."""
    forms = ("https://{}", "https://a{}b", "https://{}@a", "http://a/{}", "https://a?{}#b")
    urls = [form.format(c) for c in [*BMP, *BEYOND_THE_BMP] for form in forms]
    rule = "ck_user_profiles_avatar_url_http"
    assert await _disagreements(session, rule, "avatar_url", urls, TypeAdapter(AvatarUrl)) == []


async def _disagreements(
    session: AsyncSession,
    constraint: str,
    column_name: str,
    values: list[str],
    api_type: TypeAdapter[str],
) -> list[str]:
    """The values that the check `constraint`, read on `column_name`, and `api_type` judge
    differently."""
    [rule] = await column(
        session,
        "SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint WHERE conname = :name",
        name=constraint,
    )
    taken = await column(
        session,
        f"SELECT {rule} FROM unnest(CAST(:values AS text[])) AS sample({column_name})",
        values=values,
    )
    return [
        value for value, database_takes in zip(values, taken, strict=True)
        if database_takes != _takes(api_type, value)
    ]  # fmt: skip


def _takes(adapter: TypeAdapter[str], title: str) -> bool:
    try:
        adapter.validate_python(title)
    except ValidationError:
        return False
    return True
