"""Users (one per Supabase Auth account) and their public profiles."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Uuid, func, text
from sqlmodel import Field, Relationship, SQLModel

from db.models.base import (
    EAGER_DEFAULTS,
    HTTP_URL,
    created_at_column,
    optional_timestamp,
    updated_at_column,
    uuid_pk,
)

if TYPE_CHECKING:
    from db.models.post import Post


# Column lengths, shared with the request models, the repositories and the seed.
EMAIL_MAX = 255
NAME_MAX = 100
BIO_MAX = 500
AVATAR_URL_MAX = 2048


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class UserBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'moderator', 'admin')", name="role"),
        Index("uq_users_email_lower", func.lower(Column("email")), unique=True),
        Index("ix_users_published_post_count", text("published_post_count DESC"), "name", "id"),
        # The admin's user list, newest first (migration 0016).
        Index("ix_users_created_at", text("created_at DESC"), text("id DESC")),
    )
    __mapper_args__ = EAGER_DEFAULTS

    id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True)
    )
    email: str = Field(max_length=EMAIL_MAX)
    role: str = Field(
        default=Role.USER,
        max_length=20,
        sa_column_kwargs={"server_default": Role.USER.value},
    )
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    last_seen_at: datetime | None = optional_timestamp()
    # Kept by triggers (migration 0003): `GET /authors/top` reads it instead of counting posts.
    published_post_count: int = Field(
        default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"}
    )
    created_at: datetime | None = created_at_column()
    updated_at: datetime | None = updated_at_column()

    profile: "UserProfile" = Relationship(
        back_populates="user", sa_relationship_kwargs={"lazy": "raise", "uselist": False}
    )
    posts: list["Post"] = Relationship(
        back_populates="author",
        sa_relationship_kwargs={"lazy": "raise", "passive_deletes": True},
    )


class UserProfileBase(SQLModel):
    bio: str | None = Field(default=None, max_length=BIO_MAX)
    avatar_url: str | None = Field(default=None, max_length=AVATAR_URL_MAX)


class UserProfile(UserProfileBase, table=True):
    __tablename__ = "user_profiles"
    # Also for what the Data API writes (migrations 0010 and 0022).
    __table_args__ = (CheckConstraint(f"avatar_url ~ '{HTTP_URL}'", name="avatar_url_http"),)
    __mapper_args__ = EAGER_DEFAULTS

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    created_at: datetime | None = created_at_column()
    updated_at: datetime | None = updated_at_column()

    user: User = Relationship(back_populates="profile", sa_relationship_kwargs={"lazy": "raise"})
