-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0017: An edit of a published post no longer locks its author's row

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0016 -> 0017

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
    $$;

UPDATE alembic_version SET version_num='0017' WHERE alembic_version.version_num = '0016';
