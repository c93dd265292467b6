"""Users and profiles: the sign-in upsert, lookups, admin search and bulk deactivation."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import exists, func, literal, or_, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.base import ExecutableOption
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User, UserProfile, auth_users
from db.models.user import EMAIL_MAX
from db.repositories.pages import Keyset, Page, newest_first, page_bounds, page_of
from db.repositories.patterns import escape_like
from db.repositories.rows import STATEMENT_CACHE_SIZE, CompiledQuery, Reader, fetch, sql_integer

# A user's `last_seen_at` is refreshed at most this often, so most requests only read.
SEEN_RESOLUTION = timedelta(minutes=1)
# The advisory-lock key space of sign-in writes (any constant no other lock uses).
SIGN_IN_LOCKS = 0x5157_0001


@dataclass(frozen=True)
class AuthorCount:
    id: uuid.UUID
    name: str
    post_count: int


@dataclass(frozen=True)
class UserFilter:
    query: str | None = None
    is_active: bool | None = None


def default_name(user_id: uuid.UUID) -> str:
    """The name of a user whose account gave none, until they choose one.

    Not their email's local part: names are public, and that would give most of the email away.
    """
    return f"user-{user_id.hex[:8]}"


def with_profile() -> ExecutableOption:
    """The user's profile in the same statement (one row at most: a LEFT JOIN, not a query)."""
    # SQLModel types relationship attributes as their values; SQLAlchemy receives the attribute.
    return joinedload(User.profile)  # type: ignore[arg-type]


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    statement = select(User).where(col(User.id) == user_id).options(with_profile())
    return (await session.exec(statement)).first()


async def sign_in(
    session: AsyncSession, user_id: uuid.UUID, email: str, name: str | None = None
) -> User | None:
    """The caller's row, created or refreshed from their token; None if the account is gone,
    banned or deleted in Supabase Auth (noticed within SEEN_RESOLUTION)."""
    user = await recently_seen(session, user_id, email)
    if user is not None:
        return user
    return await record_sign_in(session, user_id, email, name)


async def recently_seen(session: AsyncSession, user_id: uuid.UUID, email: str) -> User | None:
    """The caller's row if their email is unchanged and they were seen within
    SEEN_RESOLUTION: all that most requests need, in one SELECT."""
    user = await get(session, user_id)
    if user is not None and user.email == email and _seen_recently(user):
        return user
    return None


async def record_sign_in(
    session: AsyncSession, user_id: uuid.UUID, email: str, name: str | None = None
) -> User | None:
    """Create or refresh the caller's row from their token; None if the account is gone,
    banned or deleted in Supabase Auth. A new user is named `name`, else `default_name`.

    One upsert, which is also what makes concurrent first requests create exactly one row. It
    locks the caller's row until the transaction ends.
    """
    if not await _upsert_from_token(session, user_id, email, name or default_name(user_id)):
        return None
    return await _reload(session, user_id)


def _seen_recently(user: User) -> bool:
    seen = user.last_seen_at
    return seen is not None and datetime.now(UTC) - seen < SEEN_RESOLUTION


async def _upsert_from_token(
    session: AsyncSession, user_id: uuid.UUID, email: str, name: str
) -> bool:
    """Insert or refresh the user, only if Supabase Auth has the account in good standing."""
    # One sign-in write per user at a time. Two concurrent first requests would otherwise both
    # insert the row: ON CONFLICT arbitrates on `id` only, so the second can block on the
    # first's email index entry while the first waits on the second (a post's foreign-key
    # check on the half-inserted row), and PostgreSQL aborts one as a deadlock.
    lock = func.pg_advisory_xact_lock(SIGN_IN_LOCKS, func.hashtext(str(user_id)))
    await session.exec(select(lock))
    await _refresh_stale_holder(session, user_id, email)
    account_exists = exists().where(
        auth_users.c.id == user_id,
        auth_users.c.deleted_at.is_(None),
        or_(auth_users.c.banned_until.is_(None), auth_users.c.banned_until <= func.now()),
    )
    values = sql_select(literal(user_id), literal(email), literal(name), func.now()).where(
        account_exists
    )
    statement = insert(User).from_select(["id", "email", "name", "last_seen_at"], values)
    statement = statement.on_conflict_do_update(
        index_elements=[col(User.id)],
        set_={"email": statement.excluded.email, "last_seen_at": func.now()},
    )
    upserted = await session.exec(statement.returning(col(User.id)))
    return upserted.first() is not None


async def _refresh_stale_holder(session: AsyncSession, user_id: uuid.UUID, email: str) -> None:
    """Give another user holding `email` the email Supabase Auth now has for them.

    A user's email is copied from their token, so one who changed it in Supabase Auth keeps
    the old one here until their next request: whoever signs up with it meanwhile would get
    a 409 on every request. Two accounts that Supabase Auth gives the same email still do.
    """
    # Aliased: Supabase Auth's table is also named `users`.
    account = auth_users.alias("account").c
    stale = (
        update(User)
        .where(func.lower(User.email) == func.lower(literal(email)), col(User.id) != user_id)
        .where(account.id == User.id, func.lower(account.email) != func.lower(User.email))
        # An email Quire could not hold (none, or longer than its column) is left as it was.
        .where(func.length(account.email).between(1, EMAIL_MAX))
        .values(email=account.email)
    )
    await session.exec(stale)


async def _reload(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    statement = (
        select(User)
        .where(col(User.id) == user_id)
        .options(with_profile())
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def update_name(session: AsyncSession, user: User, name: str) -> User:
    user.name = name
    session.add(user)
    await session.flush()
    return user


async def upsert_profile(
    session: AsyncSession, user_id: uuid.UUID, changes: dict[str, Any]
) -> UserProfile:
    """Create the profile with `changes`, or apply them to the existing one."""
    if not changes:
        # Nothing to apply: an existing profile is left unwritten, its updated_at included.
        return await _existing_or_new_profile(session, user_id, lock=False)
    statement = insert(UserProfile).values(user_id=user_id, **changes)
    key = [col(UserProfile.user_id)]
    updates = {name: statement.excluded[name] for name in changes}
    upsert = (
        statement.on_conflict_do_update(index_elements=key, set_=updates)
        .returning(UserProfile)
        .execution_options(populate_existing=True)
    )
    profile: UserProfile = (await session.exec(upsert)).scalar_one()
    return profile


async def lock_profile(session: AsyncSession, user_id: uuid.UUID) -> UserProfile:
    """The user's profile, created empty if missing, its row locked until the transaction ends:
    what it holds stays as read until then."""
    return await _existing_or_new_profile(session, user_id, lock=True)


async def _existing_or_new_profile(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool
) -> UserProfile:
    """The user's profile, created empty if missing; `lock` locks its row.

    The insert leaves an existing profile alone without locking it, so a deletion (through
    the Data API, or with the account) may commit before the read that follows: the profile
    is then inserted again, or, the account gone, the insert fails on its foreign key.
    """
    key = col(UserProfile.user_id)
    missing = (
        insert(UserProfile).values(user_id=user_id).on_conflict_do_nothing(index_elements=[key])
    )
    statement = select(UserProfile).where(key == user_id).execution_options(populate_existing=True)
    if lock:
        statement = statement.with_for_update()
    while True:
        await session.exec(missing)
        if (profile := (await session.exec(statement)).one_or_none()) is not None:
            return profile


async def search(
    session: AsyncSession, filters: UserFilter, limit: int, after: Keyset | None
) -> Page[User]:
    """One keyset page of users matching `filters`, newest first."""
    statement = select(User).options(with_profile())
    if filters.query:
        pattern = f"%{escape_like(filters.query)}%"
        statement = statement.where(
            or_(
                col(User.email).ilike(pattern, escape="\\"),
                col(User.name).ilike(pattern, escape="\\"),
            )
        )
    if filters.is_active is not None:
        statement = statement.where(col(User.is_active) == filters.is_active)
    statement = newest_first(statement, col(User.created_at), col(User.id), after=after is not None)
    rows = (await session.exec(statement, params=page_bounds(after, limit))).all()
    return page_of(rows, limit, _created_keyset)


def _created_keyset(user: User) -> Keyset:
    assert user.created_at is not None
    return Keyset(user.created_at, user.id)


async def lock(session: AsyncSession, *user_ids: uuid.UUID) -> dict[uuid.UUID, User]:
    """The users found, with their profiles, read afresh and locked until the transaction ends.

    Locked in id order, so two transactions that lock the same users never wait for each other
    in a cycle.
    """
    statement = (
        select(User)
        .where(col(User.id).in_(user_ids))
        .order_by(col(User.id))
        .options(with_profile())
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    )
    return {user.id: user for user in (await session.exec(statement)).all()}


async def update_access(
    session: AsyncSession, user: User, *, role: str | None, is_active: bool | None
) -> User:
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    session.add(user)
    await session.flush()
    return user


async def deactivate_inactive(session: AsyncSession, days: int) -> int:
    """Deactivate, in one statement, every active user not seen for `days` days."""
    last_seen = func.coalesce(col(User.last_seen_at), col(User.created_at))
    statement = (
        update(User)
        .where(col(User.is_active), last_seen < func.now() - timedelta(days=days))
        .values(is_active=False)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(statement)
    return int(result.rowcount)


async def top_authors(reader: Reader, limit: int) -> list[AuthorCount]:
    """Authors by number of published posts, most first, then by name: one statement, read
    as rows like the lists."""
    rows = await fetch(reader, _top_authors(limit), {})
    return [
        AuthorCount(id=row["id"], name=row["name"], post_count=row["published_post_count"])
        for row in rows
    ]


@lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _top_authors(limit: int) -> CompiledQuery:
    return CompiledQuery.of(
        select(col(User.id), col(User.name), col(User.published_post_count))
        .where(col(User.published_post_count) > sql_integer(0))
        .order_by(col(User.published_post_count).desc(), col(User.name), col(User.id))
        .limit(sql_integer(limit))
    )
