-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0027: Tag counts follow a link updated in place

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0026 -> 0027

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
    $$;

CREATE TRIGGER post_tags_count_update AFTER UPDATE ON public.post_tags
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links FOR EACH STATEMENT
    EXECUTE FUNCTION public.count_updated_post_tags();

SELECT public.refresh_published_post_counts();

UPDATE alembic_version SET version_num='0027' WHERE alembic_version.version_num = '0026';
