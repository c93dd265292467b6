"""Row Level Security as Supabase's Data API meets it: each policy allows and denies.

Each test switches to `anon` or `authenticated` with `SET LOCAL ROLE` and the claims PostgREST
would set, inside the test's rolled-back transaction. Every test runs twice: with the grants
the migration leaves, and with the broad grants a Supabase project gives its roles on every
new public table, which the policies alone must make safe.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from db import migrate
from db.url import asyncpg_arguments
from tests.support import column, create_account, recreate_database, run_sql

SUPABASE_DEFAULT_GRANTS = (
    "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role"
)
RLS_VIOLATION = "row-level security"
COLUMN_DENIED = "permission denied for table"


async def as_anon(session: AsyncSession) -> None:
    await run_sql(session, "RESET ROLE")
    await run_sql(session, "SELECT set_config('request.jwt.claims', :claims, true)",
                  claims=json.dumps({"role": "anon"}))  # fmt: skip
    await run_sql(session, "SET LOCAL ROLE anon")


async def as_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await run_sql(session, "RESET ROLE")
    claims = json.dumps({"sub": str(user_id), "role": "authenticated"})
    await run_sql(session, "SELECT set_config('request.jwt.claims', :claims, true)", claims=claims)
    await run_sql(session, "SET LOCAL ROLE authenticated")


async def denied(session: AsyncSession, sql: str, **params: Any) -> str:
    """Run `sql` expecting PostgreSQL to refuse it; return the error message."""
    with pytest.raises(DBAPIError) as refused:
        async with session.begin_nested():
            await run_sql(session, sql, **params)
    return str(refused.value.orig)


async def visible(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    """What `sql` returns, or nothing when the role may not even read the table."""
    try:
        async with session.begin_nested():
            return await column(session, sql, **params)
    except DBAPIError as error:
        if "permission denied" not in str(error.orig):
            raise
        return []


@dataclass(frozen=True)
class World:
    author: uuid.UUID
    other: uuid.UUID
    published: uuid.UUID
    draft: uuid.UUID
    others_draft: uuid.UUID
    tag: uuid.UUID


async def new_user(session: AsyncSession, email: str) -> uuid.UUID:
    user_id = await create_account(session, email)
    await run_sql(session, "INSERT INTO users (id, email, name) VALUES (:id, :email, 'Someone')",
                  id=user_id, email=email)  # fmt: skip
    await run_sql(session, "INSERT INTO user_profiles (user_id, bio) VALUES (:id, 'Hello')",
                  id=user_id)  # fmt: skip
    return user_id


async def new_post(
    session: AsyncSession, author: uuid.UUID, slug: str, *, published: bool
) -> uuid.UUID:
    result = await run_sql(
        session,
        "INSERT INTO posts (author_id, title, content, slug, is_published, published_at) "
        "VALUES (:author, :slug, 'Body', :slug, :published, "
        "CASE WHEN :published THEN now() END) RETURNING id",
        author=author,
        slug=slug,
        published=published,
    )
    return uuid.UUID(str(result.scalar_one()))


@pytest.fixture(params=["migration grants", "supabase default grants"])
async def world(request: pytest.FixtureRequest, session: AsyncSession) -> World:
    """Two writers: the author has a published post and a draft, the other a draft."""
    if request.param == "supabase default grants":
        await run_sql(session, SUPABASE_DEFAULT_GRANTS)
    author = await new_user(session, "author@example.com")
    other = await new_user(session, "other@example.com")
    published = await new_post(session, author, "rls-published", published=True)
    draft = await new_post(session, author, "rls-draft", published=False)
    others_draft = await new_post(session, other, "rls-others-draft", published=False)
    tag = await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('RLS', 'rls') RETURNING id")
    tag_id = uuid.UUID(str(tag.scalar_one()))
    for post in (published, draft, others_draft):
        await run_sql(session, "INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :tag)",
                      post=post, tag=tag_id)  # fmt: skip
    return World(author, other, published, draft, others_draft, tag_id)


# --- anon: published posts, their tags, profiles; nothing else -------------------------------


async def test_anon_reads_published_posts_but_no_draft(session: AsyncSession, world: World) -> None:
    await as_anon(session)
    assert await column(session, "SELECT id FROM posts WHERE slug LIKE 'rls-%'") == [
        world.published
    ]


async def test_anon_reads_tags_and_only_the_links_of_published_posts(
    session: AsyncSession, world: World
) -> None:
    await as_anon(session)
    assert await column(session, "SELECT slug FROM tags WHERE id = :id", id=world.tag) == ["rls"]
    links = await column(session, "SELECT post_id FROM post_tags WHERE tag_id = :t", t=world.tag)
    assert links == [world.published]


async def test_anon_reads_public_profiles(session: AsyncSession, world: World) -> None:
    await as_anon(session)
    profiles = await column(
        session,
        "SELECT user_id FROM user_profiles WHERE user_id IN (:a, :b)",
        a=world.author,
        b=world.other,
    )
    assert set(profiles) == {world.author, world.other}


async def test_anon_never_reads_an_email(session: AsyncSession, world: World) -> None:
    await as_anon(session)
    assert await visible(session, "SELECT email FROM users") == []
    assert await visible(session, "SELECT name FROM users") == []


async def test_anon_writes_nothing(session: AsyncSession, world: World) -> None:
    await as_anon(session)
    await denied(
        session,
        "INSERT INTO posts (author_id, title, content, slug) VALUES (:a, 't', 'c', 'anon-post')",
        a=world.author,
    )
    assert await visible(session, "UPDATE posts SET title = 'x' RETURNING id") == []
    assert await visible(session, "DELETE FROM user_profiles RETURNING id") == []


async def test_anon_reads_only_the_tags_of_published_posts(
    session: AsyncSession, world: World
) -> None:
    """A tag that only drafts carry, or no post any more, stays out of sight."""
    draft_only = await run_sql(
        session, "INSERT INTO tags (name, slug) VALUES ('Secret', 'secret') RETURNING id"
    )
    secret = uuid.UUID(str(draft_only.scalar_one()))
    await run_sql(session, "INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t)",
                  p=world.draft, t=secret)  # fmt: skip
    await run_sql(session, "INSERT INTO tags (name, slug) VALUES ('Orphan', 'orphan')")
    await as_anon(session)
    assert await column(session, "SELECT slug FROM tags ORDER BY slug") == ["rls"]
    await as_user(session, world.other)
    assert await column(session, "SELECT slug FROM tags ORDER BY slug") == ["rls"]
    await as_user(session, world.author)
    assert await column(session, "SELECT slug FROM tags ORDER BY slug") == ["rls", "secret"]


# --- authenticated: also its own drafts, its own users row, writes to what it owns ----------


async def test_authenticated_reads_own_drafts_not_anothers(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.author)
    posts = await column(session, "SELECT id FROM posts WHERE slug LIKE 'rls-%'")
    assert set(posts) == {world.published, world.draft}
    links = await column(session, "SELECT post_id FROM post_tags WHERE tag_id = :t", t=world.tag)
    assert set(links) == {world.published, world.draft}


async def test_authenticated_reads_own_email_only(session: AsyncSession, world: World) -> None:
    await as_user(session, world.author)
    assert await column(session, "SELECT email FROM users") == ["author@example.com"]
    assert await column(session, "SELECT email FROM users WHERE id = :o", o=world.other) == []


async def test_authenticated_cannot_change_its_own_role(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.author)
    assert await visible(session, "UPDATE users SET role = 'admin' RETURNING id") == []
    await run_sql(session, "RESET ROLE")
    role = await column(session, "SELECT role FROM users WHERE id = :id", id=world.author)
    assert role == ["user"]


async def test_authenticated_writes_posts_only_as_itself(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.author)
    insert = "INSERT INTO posts (author_id, title, content, slug) VALUES (:a, 't', 'c', :s)"
    message = await denied(session, insert, a=world.other, s="impostor")
    assert RLS_VIOLATION in message
    await run_sql(session, insert, a=world.author, s="mine")
    assert await column(session, "SELECT slug FROM posts WHERE slug = 'mine'") == ["mine"]


async def test_authenticated_updates_and_deletes_only_its_own_posts(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.other)
    update = "UPDATE posts SET title = 'Defaced' WHERE id = :id RETURNING id"
    assert await column(session, update, id=world.published) == []
    assert await column(session, "DELETE FROM posts WHERE id = :id RETURNING id",
                        id=world.published) == []  # fmt: skip
    assert await column(session, update, id=world.others_draft) == [world.others_draft]


async def test_authenticated_cannot_give_its_post_away(session: AsyncSession, world: World) -> None:
    await as_user(session, world.author)
    message = await denied(
        session, "UPDATE posts SET author_id = :o WHERE id = :id", o=world.other, id=world.draft
    )
    # The migration's grants leave the column alone; Supabase's broad ones leave it to RLS.
    assert RLS_VIOLATION in message or COLUMN_DENIED in message


async def test_authenticated_cannot_give_its_published_post_away(
    session: AsyncSession, world: World
) -> None:
    """A published post stays visible after the change, so only UPDATE's WITH CHECK stops it."""
    await as_user(session, world.author)
    message = await denied(
        session, "UPDATE posts SET author_id = :o WHERE id = :id", o=world.other, id=world.published
    )
    assert RLS_VIOLATION in message or COLUMN_DENIED in message
    await run_sql(session, "RESET ROLE")
    owner = await column(session, "SELECT author_id FROM posts WHERE id = :id", id=world.published)
    assert owner == [world.author]


async def test_authenticated_tags_only_its_own_posts(session: AsyncSession, world: World) -> None:
    await as_user(session, world.other)
    await run_sql(session, "DELETE FROM post_tags WHERE post_id = :p", p=world.others_draft)
    await run_sql(session, "INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t)",
                  p=world.others_draft, t=world.tag)  # fmt: skip
    message = await denied(
        session,
        "INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t) ON CONFLICT DO NOTHING",
        p=world.published,
        t=world.tag,
    )
    assert RLS_VIOLATION in message
    removed = "DELETE FROM post_tags WHERE post_id = :p RETURNING post_id"
    assert await column(session, removed, p=world.published) == []


async def test_authenticated_edits_only_its_own_profile(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.other)
    update = "UPDATE user_profiles SET bio = 'Edited' WHERE user_id = :u RETURNING user_id"
    assert await column(session, update, u=world.author) == []
    assert await column(session, update, u=world.other) == [world.other]
    message = await denied(
        session, "UPDATE user_profiles SET user_id = :a WHERE user_id = :o",
        a=world.author, o=world.other,
    )  # fmt: skip
    assert RLS_VIOLATION in message or COLUMN_DENIED in message


async def test_authenticated_creates_a_profile_only_for_itself(
    session: AsyncSession, world: World
) -> None:
    """A user with no profile yet cannot be given one (bio, avatar) by someone else."""
    newcomer = await create_account(session, "newcomer@example.com")
    await run_sql(session, "INSERT INTO users (id, email, name) VALUES (:id, :email, 'New')",
                  id=newcomer, email="newcomer@example.com")  # fmt: skip
    await as_user(session, world.other)
    message = await denied(
        session, "INSERT INTO user_profiles (user_id, bio) VALUES (:u, 'Not mine')", u=newcomer
    )
    assert RLS_VIOLATION in message


async def test_authenticated_deletes_only_its_own_profile(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.other)
    delete = "DELETE FROM user_profiles WHERE user_id = :u RETURNING user_id"
    assert await column(session, delete, u=world.author) == []
    assert await column(session, delete, u=world.other) == [world.other]
    await run_sql(session, "RESET ROLE")
    kept = await column(session, "SELECT user_id FROM user_profiles WHERE user_id = :u",
                        u=world.author)  # fmt: skip
    assert kept == [world.author]


async def test_a_profile_upserts_as_a_supabase_client_writes_it(
    session: AsyncSession, world: World
) -> None:
    """PostgREST's upsert sets every column it inserts, the owner's id included."""
    await as_user(session, world.author)
    upsert = (
        "INSERT INTO user_profiles (user_id, bio) VALUES (:u, 'Upserted') ON CONFLICT (user_id) "
        "DO UPDATE SET user_id = EXCLUDED.user_id, bio = EXCLUDED.bio RETURNING bio"
    )
    assert await column(session, upsert, u=world.author) == ["Upserted"]
    message = await denied(session, upsert, u=world.other)
    assert RLS_VIOLATION in message


# Accounts the API refuses (deactivated in Quire; banned or soft-deleted by Supabase Auth, whose
# access tokens stay valid until they expire) write nothing through the Data API either.
REFUSED_ACCOUNTS = {
    "deactivated": "UPDATE users SET is_active = false WHERE id = :id",
    "banned": "UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = :id",
    "soft-deleted": "UPDATE auth.users SET deleted_at = now() WHERE id = :id",
}


@pytest.mark.parametrize("refusal", REFUSED_ACCOUNTS.values(), ids=REFUSED_ACCOUNTS.keys())
async def test_a_refused_account_cannot_write(
    session: AsyncSession, world: World, refusal: str
) -> None:
    await run_sql(session, refusal, id=world.author)
    await as_user(session, world.author)
    message = await denied(
        session,
        "INSERT INTO posts (author_id, title, content, slug) VALUES (:a, 't', 'c', 'banned')",
        a=world.author,
    )
    assert RLS_VIOLATION in message
    for delete in (
        "DELETE FROM posts RETURNING id",
        "DELETE FROM post_tags RETURNING post_id",
        "DELETE FROM user_profiles RETURNING user_id",
    ):
        assert await column(session, delete) == [], delete
    assert await column(session, "SELECT id FROM posts WHERE id = :id", id=world.draft) == [
        world.draft
    ]


@pytest.mark.parametrize("refusal", REFUSED_ACCOUNTS.values(), ids=REFUSED_ACCOUNTS.keys())
async def test_a_refused_account_cannot_edit_or_tag(
    session: AsyncSession, world: World, refusal: str
) -> None:
    await run_sql(session, "DELETE FROM post_tags WHERE post_id = :id", id=world.draft)
    await run_sql(session, refusal, id=world.author)
    await as_user(session, world.author)
    for write in (
        "UPDATE posts SET title = 'Changed' WHERE id = :post RETURNING id",
        "UPDATE user_profiles SET bio = 'Changed' WHERE user_id = :author RETURNING user_id",
        "INSERT INTO post_tags (post_id, tag_id) VALUES (:post, :tag)",
    ):
        message = await denied(session, write, post=world.draft, author=world.author, tag=world.tag)
        assert RLS_VIOLATION in message, write


async def test_an_account_whose_ban_has_ended_writes_again(
    session: AsyncSession, world: World
) -> None:
    await run_sql(
        session,
        "UPDATE auth.users SET banned_until = now() - interval '1 minute' WHERE id = :id",
        id=world.author,
    )
    await as_user(session, world.author)
    inserted = await column(
        session,
        "INSERT INTO posts (author_id, title, content, slug) "
        "VALUES (:a, 't', 'c', 'ban-over') RETURNING slug",
        a=world.author,
    )
    assert inserted == ["ban-over"]


async def test_anon_cannot_ask_whether_a_caller_may_write(session: AsyncSession) -> None:
    await as_anon(session)
    message = await denied(session, "SELECT public.caller_may_write()")
    assert "permission denied for function" in message


async def test_a_post_published_through_the_data_api_gets_the_database_time(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.author)
    await run_sql(session, "INSERT INTO posts (author_id, title, content, slug, is_published) "
                  "VALUES (:a, 't', 'c', 'rls-new', true)", a=world.author)  # fmt: skip
    await run_sql(session, "UPDATE posts SET is_published = true WHERE id = :id", id=world.draft)
    stamped = await column(
        session,
        "SELECT published_at > now() - interval '1 minute' FROM posts "
        "WHERE slug IN ('rls-new', 'rls-draft')",
    )
    assert stamped == [True, True]


async def test_a_published_post_always_has_a_publication_time(
    session: AsyncSession, world: World
) -> None:
    """Cleared, it is stamped again; with triggers off, as in a bulk load, the check refuses."""
    await run_sql(session, "RESET ROLE")
    clear = "UPDATE posts SET published_at = NULL WHERE id = :id"
    await run_sql(session, clear, id=world.published)
    stamped = "SELECT published_at IS NOT NULL FROM posts WHERE id = :id"
    assert await column(session, stamped, id=world.published) == [True]
    await run_sql(session, "SET LOCAL session_replication_role = replica")
    message = await denied(session, clear, id=world.published)
    assert "ck_posts_published_posts_have_published_at" in message


async def test_authenticated_writes_only_the_columns_an_author_controls(
    session: AsyncSession,
) -> None:
    """With the migration's grants: times and ids are the database's, the slug stays."""
    author = await new_user(session, "columns@example.com")
    post = await new_post(session, author, "rls-columns", published=False)
    await as_user(session, author)
    for sql in (
        "UPDATE posts SET published_at = now() + interval '1 year' WHERE id = :id",
        "UPDATE posts SET created_at = now() - interval '1 year' WHERE id = :id",
        "UPDATE posts SET slug = 'renamed' WHERE id = :id",
        "UPDATE user_profiles SET updated_at = now() WHERE user_id = :user",
    ):
        assert COLUMN_DENIED in await denied(session, sql, id=post, user=author)
    future = (
        "INSERT INTO posts (author_id, title, content, slug, is_published, published_at) "
        "VALUES (:a, 't', 'c', 'rls-future', true, now() + interval '1 year')"
    )
    assert COLUMN_DENIED in await denied(session, future, a=author)
    await run_sql(session, "UPDATE posts SET title = 'Edited', is_published = true WHERE id = :id",
                  id=post)  # fmt: skip
    await run_sql(session, "UPDATE user_profiles SET bio = 'Edited' WHERE user_id = :u", u=author)


async def test_data_api_roles_cannot_call_the_counters_helpers(
    session: AsyncSession, world: World
) -> None:
    for become in (as_anon(session), as_user(session, world.author)):
        await become
        for call in (
            "SELECT public.refresh_published_post_counts()",
            "SELECT public.shift_tag_counts(ARRAY[:t]::uuid[], ARRAY[1])",
            "SELECT public.shift_author_counts(ARRAY[:a]::uuid[], ARRAY[1])",
        ):
            message = await denied(session, call, t=world.tag, a=world.author)
            assert "permission denied for function" in message


async def test_an_avatar_is_an_http_url_whoever_writes_it(
    session: AsyncSession, world: World
) -> None:
    await as_user(session, world.author)
    message = await denied(
        session, "UPDATE user_profiles SET avatar_url = 'javascript:alert(1)' WHERE user_id = :u",
        u=world.author,
    )  # fmt: skip
    assert "ck_user_profiles_avatar_url_http" in message
    disguised = await denied(
        session, "UPDATE user_profiles SET avatar_url = :url WHERE user_id = :u",
        url="https://paypal.com\u202e@evil.example", u=world.author,
    )  # fmt: skip
    assert "ck_user_profiles_avatar_url_http" in disguised
    await run_sql(session, "UPDATE user_profiles SET avatar_url = 'https://cdn.example.com/a.png' "
                  "WHERE user_id = :u", u=world.author)  # fmt: skip


@pytest.mark.parametrize(
    ("title", "content", "slug", "rule"),
    [
        ("  ", "c", "blank", "ck_posts_title_one_visible_line"),
        ("\u3000\u200b", "c", "blank", "ck_posts_title_one_visible_line"),
        ("two\nlines", "c", "two-lines", "ck_posts_title_one_visible_line"),
        ("t", "c" * 50_001, "t", "ck_posts_content_length"),
        ("t", "c", "A/B", "ck_posts_slug_shape"),
        ("t", "c", "trailing-", "ck_posts_slug_shape"),
        ("t", "c", "double--hyphen", "ck_posts_slug_shape"),
    ],
    ids=[
        "blank title", "wide and zero-width spaces", "two lines", "content too long",
        "slash and capitals", "trailing hyphen", "double hyphen",
    ],
)  # fmt: skip
async def test_a_post_keeps_the_apis_title_content_and_slug_rules_whoever_writes_it(
    session: AsyncSession, world: World, title: str, content: str, slug: str, rule: str
) -> None:
    await as_user(session, world.author)
    message = await denied(
        session,
        "INSERT INTO posts (author_id, title, content, slug) VALUES (:a, :t, :c, :s)",
        a=world.author, t=title, c=content, s=slug,
    )  # fmt: skip
    assert rule in message


async def test_no_data_api_role_reads_the_migration_history(
    session: AsyncSession, world: World
) -> None:
    await as_anon(session)
    assert await visible(session, "SELECT version_num FROM alembic_version") == []
    await as_user(session, world.author)
    assert await visible(session, "SELECT version_num FROM alembic_version") == []


async def test_service_role_bypasses_rls(session: AsyncSession, world: World) -> None:
    await run_sql(session, "SET LOCAL ROLE service_role")
    emails = await column(session, "SELECT email FROM users WHERE id IN (:a, :o)",
                          a=world.author, o=world.other)  # fmt: skip
    assert len(emails) == 2
    assert len(await column(session, "SELECT id FROM posts WHERE slug LIKE 'rls-%'")) == 3


# --- the functions policies rely on, and the invariants of the whole schema -----------------


async def test_auth_functions_read_the_request_claims(session: AsyncSession) -> None:
    user_id = uuid.uuid4()
    assert await column(session, "SELECT auth.uid()") == [None]
    claims = json.dumps({"sub": str(user_id), "role": "authenticated"})
    await run_sql(session, "SELECT set_config('request.jwt.claims', :c, true)", c=claims)
    assert await column(session, "SELECT auth.uid()") == [user_id]
    assert await column(session, "SELECT auth.jwt() ->> 'role'") == ["authenticated"]


async def test_auth_uid_falls_back_to_the_legacy_claim_setting(session: AsyncSession) -> None:
    user_id = uuid.uuid4()
    await run_sql(session, "SELECT set_config('request.jwt.claim.sub', :s, true)", s=str(user_id))
    assert await column(session, "SELECT auth.uid()") == [user_id]


async def test_every_public_table_has_rls(session: AsyncSession) -> None:
    unprotected = await column(
        session,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity",
    )
    assert unprotected == []


async def test_the_table_owner_is_not_subject_to_rls(session: AsyncSession) -> None:
    """No FORCE ROW LEVEL SECURITY: the API's own connection owns the tables and reads all."""
    forced = await column(
        session,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relforcerowsecurity",
    )
    assert forced == []


async def test_downgrade_removes_the_policies_and_the_grants(direct_url: str) -> None:
    url = await recreate_database(direct_url, "rls_downgrade")
    await asyncio.to_thread(migrate.upgrade, url)
    await asyncio.to_thread(migrate.downgrade, url, "0001")
    state = await _rls_state(url)
    assert state == {"policies": 0, "rls_tables": 0, "data_api_grants": 0}
    await asyncio.to_thread(migrate.upgrade, url)
    assert (await _rls_state(url))["policies"] > 0


async def _rls_state(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        row = await connection.fetchrow(
            "SELECT "
            "(SELECT count(*) FROM pg_policies WHERE schemaname = 'public') AS policies, "
            "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            " WHERE n.nspname = 'public' AND c.relrowsecurity) AS rls_tables, "
            "(SELECT count(*) FROM information_schema.role_table_grants WHERE table_schema = "
            " 'public' AND grantee IN ('anon', 'authenticated', 'service_role')) "
            "AS data_api_grants"
        )
    finally:
        await connection.close()
    return dict(row)
