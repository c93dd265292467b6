"""Posts and tags as the API shows and accepts them."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool, field_validator

from api.schemas.common import Content, RequestModel, ResponseModel, TagName, Title
from api.schemas.users import AuthorPublic
from db.models import PostBase, TagBase

MAX_TAGS = 10


def fold_tags(names: list[str]) -> list[str]:
    """Drop case-insensitive duplicates, keeping the first spelling."""
    first_spelling: dict[str, str] = {}
    for name in names:
        first_spelling.setdefault(name.lower(), name)
    return list(first_spelling.values())


class TagPublic(ResponseModel, TagBase):
    slug: str


class TagStats(TagPublic):
    post_count: int


class PostCreate(RequestModel, PostBase):
    title: Title
    content: Content
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    published: StrictBool = False

    _fold_tags = field_validator("tags")(fold_tags)


def _never_null(schema: dict[str, Any]) -> None:
    """The schema of a field typed `X | None`, as X's: null is refused by a validator."""
    [value] = [branch for branch in schema.pop("anyOf") if branch != {"type": "null"}]
    schema.update(value)


class PostUpdate(RequestModel):
    """Any subset of a post's fields; `tags` replaces the whole set."""

    # These may be left out but not sent as null: `_not_null` refuses it, and the schema leaves
    # it out. Nullable rather than a union with a None pydantic cannot see, whose errors named
    # each branch (`title.none: Input should be None`, for a title too short).
    title: Title | None = Field(default=None, json_schema_extra=_never_null)
    content: Content | None = Field(default=None, json_schema_extra=_never_null)
    tags: list[TagName] | None = Field(default=None, max_length=MAX_TAGS)
    published: StrictBool | None = Field(default=None, json_schema_extra=_never_null)

    @field_validator("tags")
    @classmethod
    def _fold(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else fold_tags(names)

    @field_validator("title", "content", "published")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class PostPublic(ResponseModel, PostBase):
    id: uuid.UUID
    slug: str
    published: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    author: AuthorPublic
    tags: list[TagPublic]


class PostsPage(ResponseModel):
    items: list[PostPublic]
    next_cursor: str | None
