"""An edit of a published post no longer locks its author's row

Every UPDATE of posts counts the published posts it adds and removes (0003): an edit of a
published post is +1 and -1 for its author, a net zero, and the count was left alone, but the
author's row was locked all the same, until the transaction ended. Two requests that touched
the same author and the same tags in the other order deadlocked: an edit, which locked the
author first, and a change of tags, which locked the tags first and then, updating the post,
the author. Only the authors whose count changes are locked now, in id order as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 19:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHIFT_CHANGED_AUTHORS = """
    CREATE OR REPLACE FUNCTION public.shift_author_counts(author_ids uuid[], deltas integer[])
    RETURNS void
    LANGUAGE plpgsql SET search_path = '' AS $$
    DECLARE
        changed uuid[];
        shifts integer[];
    BEGIN
        SELECT array_agg(author_id ORDER BY author_id), array_agg(n ORDER BY author_id)
        INTO changed, shifts
        FROM (
            SELECT author_id, sum(delta)::integer AS n
            FROM unnest(author_ids, deltas) AS change(author_id, delta)
            GROUP BY author_id
        ) d
        WHERE n <> 0;
        IF changed IS NULL THEN
            RETURN;
        END IF;
        PERFORM 1 FROM public.users WHERE id = ANY(changed) ORDER BY id FOR NO KEY UPDATE;
        UPDATE public.users u SET published_post_count = u.published_post_count + d.n
        FROM unnest(changed, shifts) AS d(author_id, n)
        WHERE u.id = d.author_id;
    END
    $$
"""
# 0003's body, exactly.
SHIFT_EVERY_AUTHOR = """
    CREATE OR REPLACE FUNCTION public.shift_author_counts(author_ids uuid[], deltas integer[])
    RETURNS void
    LANGUAGE plpgsql SET search_path = '' AS $$
    BEGIN
        PERFORM 1 FROM public.users WHERE id = ANY(author_ids) ORDER BY id FOR NO KEY UPDATE;
        UPDATE public.users u SET published_post_count = u.published_post_count + d.n
        FROM (
            SELECT author_id, sum(delta)::integer AS n
            FROM unnest(author_ids, deltas) AS change(author_id, delta)
            GROUP BY author_id
        ) d
        WHERE u.id = d.author_id AND d.n <> 0;
    END
    $$
"""


def upgrade() -> None:
    op.execute(SHIFT_CHANGED_AUTHORS)


def downgrade() -> None:
    op.execute(SHIFT_EVERY_AUTHOR)
