"""Tag counts follow a link updated in place

0003 counted links as they were inserted, deleted or truncated, but not updated. The API never
updates a link, yet anything with the service key or a direct connection may: merging two tags
(`UPDATE post_tags SET tag_id = …`), moving links to another post, or an upsert whose
`ON CONFLICT DO UPDATE` rewrites one. Each left both tags' counts wrong until
`refresh_published_post_counts()`. An UPDATE on the links now takes the old rows off and adds
the new ones, for published posts, as the insert and delete triggers do.

The statement trigger fires for every UPDATE of the links, as PostgreSQL allows no column list
with transition tables, including the one that copies a post's `published_at` to its links
when it is published (0006). There each link leaves and comes back with the same post and tag,
so only tags whose count changes are locked and updated: none.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-25 01:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_UPDATED_LINKS = """
    CREATE FUNCTION public.count_updated_post_tags() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    DECLARE
        tag_ids uuid[];
        deltas integer[];
    BEGIN
        SELECT array_agg(tag_id), array_agg(delta) INTO tag_ids, deltas FROM (
            SELECT c.tag_id, sum(c.delta)::integer AS delta
            FROM (
                SELECT post_id, tag_id, 1 AS delta FROM new_links
                UNION ALL
                SELECT post_id, tag_id, -1 FROM old_links
            ) c
            JOIN public.posts p ON p.id = c.post_id
            WHERE p.is_published
            GROUP BY c.tag_id
        ) changes
        WHERE delta <> 0;
        IF tag_ids IS NOT NULL THEN
            PERFORM public.shift_tag_counts(tag_ids, deltas);
        END IF;
        RETURN NULL;
    END
    $$
"""
COUNT_UPDATED_LINKS_TRIGGER = """
    CREATE TRIGGER post_tags_count_update AFTER UPDATE ON public.post_tags
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links FOR EACH STATEMENT
    EXECUTE FUNCTION public.count_updated_post_tags()
"""


def upgrade() -> None:
    op.execute(COUNT_UPDATED_LINKS)
    op.execute(COUNT_UPDATED_LINKS_TRIGGER)
    # Counts that links updated before now left wrong.
    op.execute("SELECT public.refresh_published_post_counts()")


def downgrade() -> None:
    op.execute("DROP TRIGGER post_tags_count_update ON public.post_tags")
    op.execute("DROP FUNCTION public.count_updated_post_tags()")
