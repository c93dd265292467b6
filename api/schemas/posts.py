"""Posts and tags as the API shows and accepts them."""

import uuid
from datetime import datetime

from pydantic import Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema

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


class PostUpdate(RequestModel):
    """Any subset of a post's fields; `tags` replaces the whole set."""

    # `SkipJsonSchema[None]`: these may be left out but not sent as null, and the schema says so.
    title: Title | SkipJsonSchema[None] = None
    content: Content | SkipJsonSchema[None] = None
    tags: list[TagName] | None = Field(default=None, max_length=MAX_TAGS)
    published: StrictBool | SkipJsonSchema[None] = None

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
