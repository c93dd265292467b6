"""Tag counts under contention: a post deleted as its links go, an account's deletion

- A post's deletion took its links' tags off their counts as its BEFORE DELETE trigger read
  them (0003), without waiting for a transaction that was removing one of those links. When
  both committed, that tag went down twice, and stayed one short (or below zero, hidden from
  `GET /tags`) until `refresh_published_post_counts()`. The trigger now locks the links it
  reads: it waits for such a transaction and skips the links it removed.
- Deleting an account deletes its posts one by one, and each post's trigger locked that
  post's tags: in the order of the posts, not of the tags. A writer that locked the same tags
  in id order (a change of tags, say) could deadlock with it, and Supabase Auth's deletion of
  the account then failed. The account's BEFORE DELETE trigger now locks its posts, then the
  tags of its published posts, each in id order, as every other writer does.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24 05:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCOUNT_LOCKED_LINKS = """
    CREATE OR REPLACE FUNCTION public.uncount_deleted_post_tags() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    DECLARE
        tag_ids uuid[];
    BEGIN
        IF OLD.is_published THEN
            PERFORM 1 FROM public.users WHERE id = OLD.author_id FOR NO KEY UPDATE;
            -- The weakest lock a link's deletion conflicts with: wait for it, then skip the
            -- link if it is gone.
            SELECT array_agg(tag_id) INTO tag_ids FROM (
                SELECT tag_id FROM public.post_tags WHERE post_id = OLD.id FOR KEY SHARE
            ) links;
            IF tag_ids IS NOT NULL THEN
                PERFORM public.shift_tag_counts(
                    tag_ids, array_fill(-1, ARRAY[cardinality(tag_ids)])
                );
            END IF;
        END IF;
        RETURN OLD;
    END
    $$
"""
# 0003's body, exactly.
UNCOUNT_AS_0003 = """
    CREATE OR REPLACE FUNCTION public.uncount_deleted_post_tags() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    DECLARE
        tag_ids uuid[];
    BEGIN
        IF OLD.is_published THEN
            PERFORM 1 FROM public.users WHERE id = OLD.author_id FOR NO KEY UPDATE;
            SELECT array_agg(tag_id) INTO tag_ids FROM public.post_tags WHERE post_id = OLD.id;
            IF tag_ids IS NOT NULL THEN
                PERFORM public.shift_tag_counts(
                    tag_ids, array_fill(-1, ARRAY[cardinality(tag_ids)])
                );
            END IF;
        END IF;
        RETURN OLD;
    END
    $$
"""

LOCK_ACCOUNT_POSTS = """
    CREATE FUNCTION public.lock_deleted_author_posts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        -- Posts first: a writer that changes a post's tags locks the post, then its tags.
        PERFORM 1 FROM public.posts WHERE author_id = OLD.id ORDER BY id FOR UPDATE;
        PERFORM 1 FROM public.tags
        WHERE id IN (
            SELECT pt.tag_id
            FROM public.post_tags pt JOIN public.posts p ON p.id = pt.post_id
            WHERE p.author_id = OLD.id AND p.is_published
        )
        ORDER BY id FOR NO KEY UPDATE;
        RETURN OLD;
    END
    $$
"""
LOCK_TRIGGER = (
    "CREATE TRIGGER users_lock_deleted_author_posts BEFORE DELETE ON public.users "
    "FOR EACH ROW EXECUTE FUNCTION public.lock_deleted_author_posts()"
)


def upgrade() -> None:
    op.execute(UNCOUNT_LOCKED_LINKS)
    op.execute(LOCK_ACCOUNT_POSTS)
    op.execute(LOCK_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_lock_deleted_author_posts ON public.users")
    op.execute("DROP FUNCTION public.lock_deleted_author_posts()")
    op.execute(UNCOUNT_AS_0003)
