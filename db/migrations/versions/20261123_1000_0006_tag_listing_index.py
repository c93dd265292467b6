"""Tag lists read an index of each tag's published posts, newest first

A list filtered by tag walked all published posts from the newest, probing each one's links
for the tag: ~1,500 posts for a page of a tag on 1.5% of them, and every published post for a
tag on none, or on a few old ones: 5.5 s for `?tag=<unknown>` and 17 s for a tag on one old
post, at a million posts. Each link now carries its post's `published_at` while the post is
published (`post_published_at`, NULL otherwise), and a partial index orders a tag's links by
it: a page of a tag reads the page's entries of that index, whatever the tag's size.

Triggers keep the copy exact: a new link takes its post's value, reading the post FOR SHARE
so that a concurrent publication either waits for the link or updates it; publishing,
unpublishing, or moving `published_at` rewrites the post's links. Both functions are
SECURITY DEFINER, like the counters of 0003: the links' writer may not be allowed by Row
Level Security to read or update what the copy needs. Links' own INSERT sets the value, so a
client cannot list a draft under a tag.

The backfill rewrites every link of a published post, and the index is built in the same
transaction, where CONCURRENTLY cannot run (a minute or two at a million posts on two cores):
run it in a maintenance window on a large table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQUAWK_IGNORE = ("require-concurrent-index-creation",)

FUNCTIONS = (
    """
    CREATE FUNCTION public.copy_post_published_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        SELECT CASE WHEN p.is_published THEN p.published_at END INTO NEW.post_published_at
        FROM public.posts p WHERE p.id = NEW.post_id
        FOR SHARE;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION public.sync_post_tags_published_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        UPDATE public.post_tags
        SET post_published_at = CASE WHEN NEW.is_published THEN NEW.published_at END
        WHERE post_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
)
TRIGGERS = (
    "CREATE TRIGGER post_tags_copy_published_at "
    "BEFORE INSERT OR UPDATE OF post_id, post_published_at ON public.post_tags "
    "FOR EACH ROW EXECUTE FUNCTION public.copy_post_published_at()",
    "CREATE TRIGGER posts_sync_tag_listing AFTER UPDATE OF is_published, published_at "
    "ON public.posts FOR EACH ROW WHEN ("
    "OLD.is_published IS DISTINCT FROM NEW.is_published "
    "OR OLD.published_at IS DISTINCT FROM NEW.published_at) "
    "EXECUTE FUNCTION public.sync_post_tags_published_at()",
)


def upgrade() -> None:
    op.add_column(
        "post_tags", sa.Column("post_published_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE public.post_tags pt SET post_published_at = p.published_at "
        "FROM public.posts p WHERE p.id = pt.post_id AND p.is_published"
    )
    op.create_index(
        "ix_post_tags_tag_id_post_published_at",
        "post_tags",
        ["tag_id", sa.text("post_published_at DESC"), sa.text("post_id DESC")],
        postgresql_where=sa.text("post_published_at IS NOT NULL"),
    )
    for function in FUNCTIONS:
        op.execute(function)
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute("ANALYZE post_tags")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS posts_sync_tag_listing ON public.posts")
    op.execute("DROP TRIGGER IF EXISTS post_tags_copy_published_at ON public.post_tags")
    op.execute("DROP FUNCTION IF EXISTS public.sync_post_tags_published_at()")
    op.execute("DROP FUNCTION IF EXISTS public.copy_post_published_at()")
    op.drop_index("ix_post_tags_tag_id_post_published_at", table_name="post_tags")
    op.drop_column("post_tags", "post_published_at")
