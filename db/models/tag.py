"""Tags, shared between posts through the `post_tags` link table."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Uuid, func, text
from sqlmodel import Field, Relationship, SQLModel

from db.models.base import optional_timestamp, uuid_pk

if TYPE_CHECKING:
    from db.models.post import Post


class PostTag(SQLModel, table=True):
    __tablename__ = "post_tags"
    __table_args__ = (
        Index(
            "ix_post_tags_tag_id_post_published_at",
            "tag_id",
            text("post_published_at DESC"),
            text("post_id DESC"),
            postgresql_where=text("post_published_at IS NOT NULL"),
        ),
    )

    post_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    # The post's `published_at` while it is published, else NULL: set by triggers (migration
    # 0006) for the index that lists a tag's posts newest first.
    post_published_at: datetime | None = optional_timestamp()


# Column lengths, shared with the request models and the repositories.
TAG_NAME_MAX = 50
TAG_SLUG_MAX = 50


class TagBase(SQLModel):
    name: str = Field(min_length=1, max_length=TAG_NAME_MAX)


class Tag(TagBase, table=True):
    __tablename__ = "tags"
    __table_args__ = (
        Index("uq_tags_name_lower", func.lower(Column("name")), unique=True),
        Index("ix_tags_published_post_count", text("published_post_count DESC"), "name"),
    )

    id: uuid.UUID = uuid_pk()
    slug: str = Field(max_length=TAG_SLUG_MAX, unique=True)
    # Kept by triggers (migration 0003): `GET /tags` reads it instead of counting links.
    published_post_count: int = Field(
        default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"}
    )

    posts: list["Post"] = Relationship(
        back_populates="tags", link_model=PostTag, sa_relationship_kwargs={"lazy": "raise"}
    )
