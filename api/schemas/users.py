"""Users and profiles as the API shows and accepts them."""

import uuid
from datetime import datetime

from pydantic import Field, StrictBool

from api.schemas.common import AvatarUrl, Bio, Integer, Name, RequestModel, ResponseModel
from db.models import Role, UserBase, UserProfileBase


class ProfilePublic(ResponseModel, UserProfileBase):
    pass


class ProfileUpdate(RequestModel, UserProfileBase):
    """Fields left out keep their value; an explicit null clears one."""

    bio: Bio | None = None
    avatar_url: AvatarUrl | None = None


class UserPublic(ResponseModel, UserBase):
    """What anyone may see of a user: never the email."""

    id: uuid.UUID
    profile: ProfilePublic | None = None


class UserMe(UserPublic):
    """The signed-in user's own view (and an admin's view of any user)."""

    email: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserUpdate(RequestModel, UserBase):
    name: Name


class UsersPage(ResponseModel):
    items: list[UserMe]
    next_cursor: str | None


class AuthorPublic(ResponseModel, UserBase):
    id: uuid.UUID


class AuthorStats(AuthorPublic):
    post_count: int


class AccessUpdate(RequestModel):
    role: Role | None = None
    is_active: StrictBool | None = None


class InactivityRule(RequestModel):
    days: Integer = Field(ge=1, le=36_500)


class Deactivated(ResponseModel):
    deactivated: int
