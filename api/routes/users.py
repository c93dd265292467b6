"""The signed-in user, their profile and posts, and public user pages."""

from fastapi import APIRouter

from api.deps import (
    BODY_ERRORS,
    SIGN_IN_ERRORS,
    CurrentUser,
    Cursors,
    SessionDep,
    UserById,
)
from api.errors import problem_responses
from api.pagination import DEFAULT_LIMIT, PageCursor, PageLimit
from api.responses import ViewResponse
from api.routes.avatars import AvatarImagesDep, update_profile
from api.schemas.posts import PostsPage
from api.schemas.users import ProfilePublic, ProfileUpdate, UserMe, UserPublic, UserUpdate
from db.repositories import posts, users

router = APIRouter(prefix="/users", tags=["users"])

MY_POSTS = "my-posts"


@router.get("/me", responses=problem_responses(*SIGN_IN_ERRORS))
async def read_me(user: CurrentUser) -> UserMe:
    """The signed-in user, with their profile."""
    return UserMe.model_validate(user, from_attributes=True)


@router.patch("/me", responses=problem_responses(*SIGN_IN_ERRORS, *BODY_ERRORS))
async def update_me(body: UserUpdate, user: CurrentUser, session: SessionDep) -> UserMe:
    """Change the signed-in user's display name."""
    updated = await users.update_name(session, user, body.name)
    return UserMe.model_validate(updated, from_attributes=True)


@router.put("/me/profile", responses=problem_responses(*SIGN_IN_ERRORS, *BODY_ERRORS))
async def upsert_my_profile(
    body: ProfileUpdate, images: AvatarImagesDep, user: CurrentUser, session: SessionDep
) -> ProfilePublic:
    """Create or update the signed-in user's profile; omitted fields keep their value."""
    changes = body.model_dump(exclude_unset=True)
    profile = await update_profile(session, images, user.id, changes)
    return ProfilePublic.model_validate(profile, from_attributes=True)


@router.get("/me/posts", response_model=PostsPage, responses=problem_responses(*SIGN_IN_ERRORS))
async def list_my_posts(
    user: CurrentUser,
    session: SessionDep,
    cursors: Cursors,
    published: bool | None = None,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> ViewResponse:
    """The signed-in user's posts, drafts included, newest first."""
    after = cursors.decode(cursor, MY_POSTS)
    page = await posts.by_author(session, user.id, published, limit, after)
    return ViewResponse({"items": page.items, "next_cursor": cursors.encode(page.next, MY_POSTS)})


@router.get("/{user_id}", responses=problem_responses(404))
async def read_user(user: UserById) -> UserPublic:
    """A user's public page: name and profile, never the email."""
    # A deactivated account may no longer act, but what it published stays public: its posts
    # are still listed with its id, so its page is there too.
    return UserPublic.model_validate(user, from_attributes=True)
