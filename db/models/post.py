"""Posts, their authors and tags."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Text, Uuid, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlmodel import Field, Relationship, SQLModel

from db.models.base import (
    EAGER_DEFAULTS,
    ONE_LINE,
    created_at_column,
    database_stamped_timestamp,
    updated_at_column,
    uuid_pk,
)
from db.models.tag import PostTag, Tag
from db.models.user import User

# Column lengths, shared with the request models and the repositories.
TITLE_MAX = 200
CONTENT_MAX = 50_000
SLUG_MAX = 200
# The text search configuration of a post's document (title, a space, content) and of searches.
# Migration 0018's trigger names it too: changing it takes a migration that rewrites the trigger
# and recomputes every document (tests/db/test_schema.py compares the two).
SEARCH_CONFIGURATION = "english"


class PostBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    content: str = Field(sa_type=Text)


class Post(PostBase, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_author_id_created_at", "author_id", "created_at"),
        Index(
            "ix_posts_published_at_published",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("is_published"),
        ),
        Index(
            "ix_posts_author_id_published_at_published",
            "author_id",
            text("published_at DESC"),
            text("id DESC"),
            postgresql_where=text("is_published"),
        ),
        # The pattern operator class serves `slug LIKE 'base-%'` (numbering a taken slug) as
        # an index range under any collation, and equality too: see migration 0007.
        Index("uq_posts_slug", "slug", unique=True, postgresql_ops={"slug": "varchar_pattern_ops"}),
        CheckConstraint(
            "NOT is_published OR published_at IS NOT NULL", name="published_posts_have_published_at"
        ),
        # The API's rules, for what the Data API writes too (migrations 0013 and 0019).
        CheckConstraint(f"title ~ '{ONE_LINE}'", name="title_one_visible_line"),
        CheckConstraint(f"char_length(content) <= {CONTENT_MAX}", name="content_length"),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_shape"),
        # Rows up to ~8 KB stay whole: see migration 0005.
        {"postgresql_with": {"toast_tuple_target": 8160}},
    )
    __mapper_args__ = EAGER_DEFAULTS

    id: uuid.UUID = uuid_pk()
    author_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    slug: str = Field(max_length=SLUG_MAX)
    is_published: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    # Stamped by the database when the post is first published (migration 0008).
    published_at: datetime | None = database_stamped_timestamp()
    created_at: datetime | None = created_at_column()
    updated_at: datetime | None = updated_at_column()

    author: User = Relationship(back_populates="posts", sa_relationship_kwargs={"lazy": "raise"})
    tags: list[Tag] = Relationship(
        back_populates="posts",
        link_model=PostTag,
        sa_relationship_kwargs={"lazy": "raise", "order_by": "Tag.name"},
    )


# A post's full-text document, kept by a trigger on every write of its title or content
# (migration 0018): a search reads it instead of recomputing it for each row it considers
# (0.2-0.7 ms per 1 KB post, half a second for a two-word search at a million posts). Not
# mapped: a post is never loaded with it, only searches read it.
search_vector = Column("search_vector", TSVECTOR, nullable=False)
Post.metadata.tables[Post.__tablename__].append_column(search_vector)
# Searches are over published posts only: drafts' words stay out of the index (0026).
Index(
    "ix_posts_search_published",
    search_vector,
    postgresql_using="gin",
    postgresql_where=text("is_published"),
)
