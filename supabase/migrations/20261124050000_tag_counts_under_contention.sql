-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0021: Tag counts under contention: a post deleted as its links go, an account's deletion

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0020 -> 0021

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
    $$;

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
    $$;

CREATE TRIGGER users_lock_deleted_author_posts BEFORE DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION public.lock_deleted_author_posts();

UPDATE alembic_version SET version_num='0021' WHERE alembic_version.version_num = '0020';
