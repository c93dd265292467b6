-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0010: The Data API shows a tag only with a post the caller may see, and writes need an active account

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0009 -> 0010

DROP POLICY tags_select_anon ON public.tags;

CREATE POLICY tags_select_anon ON public.tags FOR SELECT TO anon USING (EXISTS (SELECT FROM public.post_tags pt WHERE pt.tag_id = tags.id));

DROP POLICY tags_select_authenticated ON public.tags;

CREATE POLICY tags_select_authenticated ON public.tags FOR SELECT TO authenticated USING (EXISTS (SELECT FROM public.post_tags pt WHERE pt.tag_id = tags.id));

DROP POLICY posts_delete_authenticated ON public.posts;

CREATE POLICY posts_delete_authenticated ON public.posts FOR DELETE TO authenticated USING (author_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

DROP POLICY user_profiles_delete_authenticated ON public.user_profiles;

CREATE POLICY user_profiles_delete_authenticated ON public.user_profiles FOR DELETE TO authenticated USING (user_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

DROP POLICY post_tags_delete_authenticated ON public.post_tags;

CREATE POLICY post_tags_delete_authenticated ON public.post_tags FOR DELETE TO authenticated USING (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = (SELECT auth.uid())) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

ALTER TABLE public.user_profiles ADD CONSTRAINT ck_user_profiles_avatar_url_http CHECK (avatar_url ~* '^https?://') NOT VALID;

UPDATE alembic_version SET version_num='0010' WHERE alembic_version.version_num = '0009';
