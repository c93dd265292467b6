"""The database owns a post's publication time; the Data API writes only what an author may

A published post had a `published_at` only because the API set one. Through Supabase's Data
API an author could insert a published post without one, which lists before every other post
(NULLs sort first in `published_at DESC`) and cannot end a keyset page, or with any time at
all, pinning it above every newer post. Now:

- a trigger stamps `published_at` with the database's clock when a post is published without
  one (inserted as published, or published for the first time), and a check constraint keeps
  every published post with one: the API no longer sets it;
- `authenticated` may write only the columns an author controls: a post's author, title,
  content, slug (on insert) and published flag; a profile's owner (on insert), bio and
  avatar. Timestamps and ids are the database's;
- the counters' helper functions, which are not triggers, can no longer be called by the
  Data API's roles (`/rest/v1/rpc/…`): Supabase grants EXECUTE on new functions to them.

Published posts without a time (only the Data API could write them) get their last update's.
The constraint is added NOT VALID, which checks new writes at once, and 0009 validates the
existing rows in a transaction of its own: adding it validated kept posts locked against
reads and writes for 12 s at a million posts here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP_PUBLISHED_AT = """
CREATE FUNCTION public.stamp_published_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    IF NEW.is_published AND NEW.published_at IS NULL THEN
        NEW.published_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$
"""
STAMP_TRIGGER = (
    "CREATE TRIGGER posts_publish_stamp BEFORE INSERT OR UPDATE OF is_published, published_at "
    "ON public.posts FOR EACH ROW EXECUTE FUNCTION public.stamp_published_at()"
)
CONSTRAINT = "ck_posts_published_posts_have_published_at"
RULE = "NOT is_published OR published_at IS NOT NULL"
HELPERS = (
    "public.refresh_published_post_counts()",
    "public.shift_tag_counts(uuid[], integer[])",
    "public.shift_author_counts(uuid[], integer[])",
)
DATA_API_CALLERS = "PUBLIC, anon, authenticated"
# What `authenticated` may write, column by column (Row Level Security picks the rows).
AUTHOR_COLUMNS = {
    "posts": ("INSERT (author_id, title, content, slug, is_published)",
              "UPDATE (title, content, is_published)"),
    "user_profiles": ("INSERT (user_id, bio, avatar_url)", "UPDATE (bio, avatar_url)"),
}  # fmt: skip


def upgrade() -> None:
    op.execute(STAMP_PUBLISHED_AT)
    op.execute(STAMP_TRIGGER)
    op.execute(
        "UPDATE public.posts SET published_at = updated_at "
        "WHERE is_published AND published_at IS NULL"
    )
    op.execute(f"ALTER TABLE public.posts ADD CONSTRAINT {CONSTRAINT} CHECK ({RULE}) NOT VALID")
    for table, privileges in AUTHOR_COLUMNS.items():
        # Revoking the table's privilege also revokes any column's.
        op.execute(f"REVOKE INSERT, UPDATE ON public.{table} FROM authenticated")
        for privilege in privileges:
            op.execute(f"GRANT {privilege} ON public.{table} TO authenticated")
    for helper in HELPERS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {helper} FROM {DATA_API_CALLERS}")


def downgrade() -> None:
    for helper in HELPERS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {helper} TO PUBLIC")
    for table in AUTHOR_COLUMNS:
        op.execute(f"REVOKE INSERT, UPDATE ON public.{table} FROM authenticated")
        op.execute(f"GRANT INSERT, UPDATE ON public.{table} TO authenticated")
    op.execute(f"ALTER TABLE public.posts DROP CONSTRAINT {CONSTRAINT}")
    op.execute("DROP TRIGGER posts_publish_stamp ON public.posts")
    op.execute("DROP FUNCTION public.stamp_published_at()")
