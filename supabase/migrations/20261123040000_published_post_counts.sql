-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0003: Published-post counts kept on tags and users by triggers

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0002 -> 0003

ALTER TABLE tags ADD COLUMN published_post_count BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE users ADD COLUMN published_post_count BIGINT DEFAULT '0' NOT NULL;

-- squawk-ignore require-concurrent-index-creation
CREATE INDEX ix_tags_published_post_count ON public.tags (published_post_count DESC, name);

-- squawk-ignore require-concurrent-index-creation
CREATE INDEX ix_users_published_post_count ON public.users (published_post_count DESC, name, id);

CREATE FUNCTION public.refresh_published_post_counts() RETURNS void
    LANGUAGE sql SET search_path = '' AS $$
        UPDATE public.tags t SET published_post_count = c.n
        FROM (
            SELECT tg.id, count(p.id) AS n
            FROM public.tags tg
            LEFT JOIN public.post_tags pt ON pt.tag_id = tg.id
            LEFT JOIN public.posts p ON p.id = pt.post_id AND p.is_published
            GROUP BY tg.id
        ) c
        WHERE t.id = c.id AND t.published_post_count <> c.n;
        UPDATE public.users u SET published_post_count = c.n
        FROM (
            SELECT us.id, count(p.id) AS n
            FROM public.users us LEFT JOIN public.posts p ON p.author_id = us.id AND p.is_published
            GROUP BY us.id
        ) c
        WHERE u.id = c.id AND u.published_post_count <> c.n;
    $$;

CREATE FUNCTION public.shift_tag_counts(tag_ids uuid[], deltas integer[]) RETURNS void
    LANGUAGE plpgsql SET search_path = '' AS $$
    BEGIN
        PERFORM 1 FROM public.tags WHERE id = ANY(tag_ids) ORDER BY id FOR NO KEY UPDATE;
        UPDATE public.tags t SET published_post_count = t.published_post_count + d.n
        FROM (
            SELECT tag_id, sum(delta)::integer AS n
            FROM unnest(tag_ids, deltas) AS change(tag_id, delta)
            GROUP BY tag_id
        ) d
        WHERE t.id = d.tag_id AND d.n <> 0;
    END
    $$;

CREATE FUNCTION public.shift_author_counts(author_ids uuid[], deltas integer[]) RETURNS void
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
    $$;

CREATE FUNCTION public.count_post_tags() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    DECLARE
        sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
        tag_ids uuid[];
    BEGIN
        SELECT array_agg(l.tag_id) INTO tag_ids
        FROM changed_links l JOIN public.posts p ON p.id = l.post_id
        WHERE p.is_published;
        IF tag_ids IS NOT NULL THEN
            PERFORM public.shift_tag_counts(tag_ids, array_fill(sign, ARRAY[cardinality(tag_ids)]));
        END IF;
        RETURN NULL;
    END
    $$;

CREATE FUNCTION public.count_posts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    DECLARE
        author_ids uuid[];
        deltas integer[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(author_id), array_agg(1) INTO author_ids, deltas
            FROM new_posts WHERE is_published;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(author_id), array_agg(-1) INTO author_ids, deltas
            FROM old_posts WHERE is_published;
        ELSE
            SELECT array_agg(author_id), array_agg(delta) INTO author_ids, deltas FROM (
                SELECT author_id, 1 AS delta FROM new_posts WHERE is_published
                UNION ALL
                SELECT author_id, -1 FROM old_posts WHERE is_published
            ) changes;
        END IF;
        IF author_ids IS NOT NULL THEN
            PERFORM public.shift_author_counts(author_ids, deltas);
        END IF;
        IF TG_OP = 'UPDATE' THEN
            PERFORM public.shift_tag_counts(
                array_agg(pt.tag_id), array_agg(CASE WHEN n.is_published THEN 1 ELSE -1 END)
            )
            FROM new_posts n
            JOIN old_posts o ON o.id = n.id AND o.is_published <> n.is_published
            JOIN public.post_tags pt ON pt.post_id = n.id
            HAVING count(*) > 0;
        END IF;
        RETURN NULL;
    END
    $$;

CREATE FUNCTION public.uncount_deleted_post_tags() RETURNS trigger
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
    $$;

CREATE FUNCTION public.reset_published_post_counts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        UPDATE public.tags SET published_post_count = 0 WHERE published_post_count <> 0;
        IF TG_TABLE_NAME = 'posts' THEN
            UPDATE public.users SET published_post_count = 0 WHERE published_post_count <> 0;
        END IF;
        RETURN NULL;
    END
    $$;

CREATE TRIGGER post_tags_count_insert AFTER INSERT ON public.post_tags REFERENCING NEW TABLE AS changed_links FOR EACH STATEMENT EXECUTE FUNCTION public.count_post_tags();

CREATE TRIGGER post_tags_count_delete AFTER DELETE ON public.post_tags REFERENCING OLD TABLE AS changed_links FOR EACH STATEMENT EXECUTE FUNCTION public.count_post_tags();

CREATE TRIGGER post_tags_count_truncate AFTER TRUNCATE ON public.post_tags FOR EACH STATEMENT EXECUTE FUNCTION public.reset_published_post_counts();

CREATE TRIGGER posts_count_insert AFTER INSERT ON public.posts REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION public.count_posts();

CREATE TRIGGER posts_count_update AFTER UPDATE ON public.posts REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION public.count_posts();

CREATE TRIGGER posts_count_delete AFTER DELETE ON public.posts REFERENCING OLD TABLE AS old_posts FOR EACH STATEMENT EXECUTE FUNCTION public.count_posts();

CREATE TRIGGER posts_uncount_tags BEFORE DELETE ON public.posts FOR EACH ROW EXECUTE FUNCTION public.uncount_deleted_post_tags();

CREATE TRIGGER posts_count_truncate AFTER TRUNCATE ON public.posts FOR EACH STATEMENT EXECUTE FUNCTION public.reset_published_post_counts();

SELECT public.refresh_published_post_counts();

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';
