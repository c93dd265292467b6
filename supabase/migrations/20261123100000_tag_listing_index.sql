-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0006: Tag lists read an index of each tag's published posts, newest first
-- squawk-ignore-file require-concurrent-index-creation

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0005 -> 0006

ALTER TABLE post_tags ADD COLUMN post_published_at TIMESTAMP WITH TIME ZONE;

UPDATE public.post_tags pt SET post_published_at = p.published_at FROM public.posts p WHERE p.id = pt.post_id AND p.is_published;

CREATE INDEX ix_post_tags_tag_id_post_published_at ON post_tags (tag_id, post_published_at DESC, post_id DESC) WHERE post_published_at IS NOT NULL;

CREATE FUNCTION public.copy_post_published_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        SELECT CASE WHEN p.is_published THEN p.published_at END INTO NEW.post_published_at
        FROM public.posts p WHERE p.id = NEW.post_id
        FOR SHARE;
        RETURN NEW;
    END
    $$;

CREATE FUNCTION public.sync_post_tags_published_at() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
    BEGIN
        UPDATE public.post_tags
        SET post_published_at = CASE WHEN NEW.is_published THEN NEW.published_at END
        WHERE post_id = NEW.id;
        RETURN NULL;
    END
    $$;

CREATE TRIGGER post_tags_copy_published_at BEFORE INSERT OR UPDATE OF post_id, post_published_at ON public.post_tags FOR EACH ROW EXECUTE FUNCTION public.copy_post_published_at();

CREATE TRIGGER posts_sync_tag_listing AFTER UPDATE OF is_published, published_at ON public.posts FOR EACH ROW WHEN (OLD.is_published IS DISTINCT FROM NEW.is_published OR OLD.published_at IS DISTINCT FROM NEW.published_at) EXECUTE FUNCTION public.sync_post_tags_published_at();

ANALYZE post_tags;

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';
