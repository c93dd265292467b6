-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0028: The Data API refuses writes from an account Supabase Auth has banned or soft-deleted

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0027 -> 0028

CREATE FUNCTION public.caller_may_write() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
        SELECT EXISTS (
            SELECT FROM public.users u JOIN auth.users a ON a.id = u.id
            WHERE u.id = (SELECT auth.uid())
              AND u.is_active
              AND a.deleted_at IS NULL
              AND (a.banned_until IS NULL OR a.banned_until <= now())
        )
    $$;

REVOKE EXECUTE ON FUNCTION public.caller_may_write() FROM PUBLIC, anon;

GRANT EXECUTE ON FUNCTION public.caller_may_write() TO authenticated;

ALTER POLICY user_profiles_insert_authenticated ON public.user_profiles WITH CHECK (user_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY user_profiles_update_authenticated ON public.user_profiles WITH CHECK (user_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY user_profiles_delete_authenticated ON public.user_profiles USING (user_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY posts_insert_authenticated ON public.posts WITH CHECK (author_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY posts_update_authenticated ON public.posts WITH CHECK (author_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY posts_delete_authenticated ON public.posts USING (author_id = (SELECT auth.uid()) AND (SELECT public.caller_may_write()));

ALTER POLICY post_tags_insert_authenticated ON public.post_tags WITH CHECK (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = (SELECT auth.uid())) AND (SELECT public.caller_may_write()));

ALTER POLICY post_tags_delete_authenticated ON public.post_tags USING (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = (SELECT auth.uid())) AND (SELECT public.caller_may_write()));

UPDATE alembic_version SET version_num='0028' WHERE alembic_version.version_num = '0027';
