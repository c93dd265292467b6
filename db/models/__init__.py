"""Every table, imported here so `SQLModel.metadata` is complete for Alembic."""

from sqlmodel import SQLModel

from db.models.auth import auth_users
from db.models.post import SEARCH_CONFIGURATION, Post, PostBase, search_vector
from db.models.tag import PostTag, Tag, TagBase
from db.models.user import Role, User, UserBase, UserProfile, UserProfileBase

metadata = SQLModel.metadata

__all__ = [
    "SEARCH_CONFIGURATION",
    "Post",
    "PostBase",
    "PostTag",
    "Role",
    "Tag",
    "TagBase",
    "User",
    "UserBase",
    "UserProfile",
    "UserProfileBase",
    "auth_users",
    "metadata",
    "search_vector",
]
