-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0008: The database owns a post's publication time; the Data API writes only what an author may

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0007 -> 0008

CREATE FUNCTION public.stamp_published_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    IF NEW.is_published AND NEW.published_at IS NULL THEN
        NEW.published_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER posts_publish_stamp BEFORE INSERT OR UPDATE OF is_published, published_at ON public.posts FOR EACH ROW EXECUTE FUNCTION public.stamp_published_at();

UPDATE public.posts SET published_at = updated_at WHERE is_published AND published_at IS NULL;

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_published_posts_have_published_at CHECK (NOT is_published OR published_at IS NOT NULL) NOT VALID;

REVOKE INSERT, UPDATE ON public.posts FROM authenticated;

GRANT INSERT (author_id, title, content, slug, is_published) ON public.posts TO authenticated;

GRANT UPDATE (title, content, is_published) ON public.posts TO authenticated;

REVOKE INSERT, UPDATE ON public.user_profiles FROM authenticated;

GRANT INSERT (user_id, bio, avatar_url) ON public.user_profiles TO authenticated;

GRANT UPDATE (bio, avatar_url) ON public.user_profiles TO authenticated;

REVOKE EXECUTE ON FUNCTION public.refresh_published_post_counts() FROM PUBLIC, anon, authenticated;

REVOKE EXECUTE ON FUNCTION public.shift_tag_counts(uuid[], integer[]) FROM PUBLIC, anon, authenticated;

REVOKE EXECUTE ON FUNCTION public.shift_author_counts(uuid[], integer[]) FROM PUBLIC, anon, authenticated;

UPDATE alembic_version SET version_num='0008' WHERE alembic_version.version_num = '0007';
