"""Administration of users: search, role and status changes, bulk deactivation."""

import uuid

from fastapi import APIRouter

from api.deps import (
    BODY_ERRORS,
    SIGN_IN_ERRORS,
    AdminUser,
    Cursors,
    SessionDep,
    no_user,
    require_admin,
)
from api.errors import Conflict, problem_responses
from api.pagination import DEFAULT_LIMIT, PageCursor, PageLimit
from api.schemas.common import UserSearch
from api.schemas.users import AccessUpdate, Deactivated, InactivityRule, UserMe, UsersPage
from db.repositories import users
from db.repositories.users import UserFilter

router = APIRouter(prefix="/admin/users", tags=["admin"])

ADMIN_USERS = "admin-users"


@router.get("", responses=problem_responses(*SIGN_IN_ERRORS))
async def search_users(
    admin: AdminUser,
    session: SessionDep,
    cursors: Cursors,
    q: UserSearch | None = None,
    is_active: bool | None = None,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> UsersPage:
    """Users matching `q` (email or name, any case), newest first."""
    after = cursors.decode(cursor, ADMIN_USERS)
    page = await users.search(session, UserFilter(query=q, is_active=is_active), limit, after)
    return UsersPage(
        items=[UserMe.model_validate(user, from_attributes=True) for user in page.items],
        next_cursor=cursors.encode(page.next, ADMIN_USERS),
    )


# `:uuid` keeps `/deactivate-inactive` from being read as an id: PATCH there is a 405.
@router.patch("/{user_id:uuid}", responses=problem_responses(*SIGN_IN_ERRORS, 404, *BODY_ERRORS))
async def update_user_access(
    user_id: uuid.UUID, body: AccessUpdate, admin: AdminUser, session: SessionDep
) -> UserMe:
    """Change a user's role or active status (not your own: that could lock everyone out)."""
    if user_id == admin.id:
        raise Conflict("Administrators cannot change their own role or status.")
    locked = await users.lock(session, admin.id, user_id)
    # Read again under the lock: two administrators removing each other at the same moment
    # would otherwise both succeed, and leave none.
    require_admin(locked.get(admin.id))
    user = locked.get(user_id)
    if user is None:
        raise no_user(user_id)
    updated = await users.update_access(session, user, role=body.role, is_active=body.is_active)
    return UserMe.model_validate(updated, from_attributes=True)


@router.post("/deactivate-inactive", responses=problem_responses(*SIGN_IN_ERRORS, *BODY_ERRORS))
async def deactivate_inactive_users(
    body: InactivityRule, admin: AdminUser, session: SessionDep
) -> Deactivated:
    """Deactivate, in one update, every active user not seen for `days` days."""
    return Deactivated(deactivated=await users.deactivate_inactive(session, body.days))
