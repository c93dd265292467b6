"""Users and profiles: the sign-in upsert, lookups, admin search and bulk deactivation."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, literal, or_, tuple_, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import selectinload
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User, UserProfile, auth_users
from db.repositories.pages import Keyset, Page, page_of

# A user's `last_seen_at` is refreshed at most this often, so reads stay reads.
SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class UserFilter:
    query: str | None = None
    is_active: bool | None = None


def default_name(email: str) -> str:
    return (email.split("@", 1)[0] or email)[:100]


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    statement = select(User).where(User.id == user_id).options(selectinload(User.profile))
    return (await session.exec(statement)).first()  # type: ignore[call-overload,no-any-return]


async def sign_in(session: AsyncSession, user_id: uuid.UUID, email: str) -> User | None:
    """The caller's row, created or refreshed from their token; None if the account is gone.

    Most requests come from a known user whose email is unchanged and who was seen a moment
    ago: one SELECT. Otherwise one upsert, which is also what makes concurrent first requests
    create exactly one row.
    """
    user = await get(session, user_id)
    if user is not None and user.email == email and _seen_recently(user):
        return user
    return await _upsert_from_token(session, user_id, email)


def _seen_recently(user: User) -> bool:
    return user.last_seen_at is not None and (
        datetime.now(UTC) - user.last_seen_at < SEEN_RESOLUTION
    )


async def _upsert_from_token(session: AsyncSession, user_id: uuid.UUID, email: str) -> User | None:
    account_exists = exists().where(auth_users.c.id == user_id)
    values = sql_select(
        literal(user_id), literal(email), literal(default_name(email)), func.now()
    ).where(account_exists)
    statement = insert(User).from_select(["id", "email", "name", "last_seen_at"], values)
    statement = statement.on_conflict_do_update(
        index_elements=[User.id],
        set_={"email": statement.excluded.email, "last_seen_at": func.now()},
    ).returning(User.id)
    if (await session.exec(statement)).first() is None:  # type: ignore[call-overload]
        return None
    session.expire_all()
    return await get(session, user_id)


async def update_name(session: AsyncSession, user: User, name: str) -> User:
    user.name = name
    session.add(user)
    await session.flush()
    return user


async def upsert_profile(
    session: AsyncSession, user_id: uuid.UUID, changes: dict[str, str | None]
) -> UserProfile:
    """Create the profile with `changes`, or apply them to the existing one."""
    statement = insert(UserProfile).values(user_id=user_id, **changes)
    statement = statement.on_conflict_do_update(
        index_elements=[UserProfile.user_id],
        set_={key: statement.excluded[key] for key in changes} or {"user_id": user_id},
    ).returning(UserProfile)
    profile: UserProfile = (
        await session.exec(statement.execution_options(populate_existing=True))  # type: ignore[call-overload]
    ).one()
    return profile


async def search(
    session: AsyncSession, filters: UserFilter, limit: int, after: Keyset | None
) -> Page[User]:
    statement = select(User).options(selectinload(User.profile))
    if filters.query:
        pattern = f"%{_escape_like(filters.query)}%"
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"))  # type: ignore[attr-defined]
        )
    if filters.is_active is not None:
        statement = statement.where(User.is_active == filters.is_active)
    if after is not None:
        statement = statement.where(tuple_(User.created_at, User.id) < (after.at, after.id))
    statement = statement.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)  # type: ignore[union-attr,attr-defined]
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return page_of(rows, limit, lambda user: Keyset(user.created_at, user.id))


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
    cutoff = func.now() - timedelta(days=days)
    statement = (
        update(User)
        .where(User.is_active, func.coalesce(User.last_seen_at, User.created_at) < cutoff)  # type: ignore[arg-type]
        .values(is_active=False)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return int(result.rowcount)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
