-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0002: Row Level Security on every public table, with policies for Supabase's Data API roles

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0001 -> 0002

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
        GRANT anon TO CURRENT_USER;
    END IF;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
        GRANT authenticated TO CURRENT_USER;
    END IF;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
        GRANT service_role TO CURRENT_USER;
    END IF;
END
$$;

DO $do$
BEGIN
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $fn$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
        GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    END IF;
END
$do$;

DO $do$
BEGIN
    IF to_regprocedure('auth.jwt()') IS NULL THEN
        CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $fn$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $fn$;
    END IF;
END
$do$;

REVOKE ALL ON public.users FROM anon, authenticated, service_role;

REVOKE ALL ON public.user_profiles FROM anon, authenticated, service_role;

REVOKE ALL ON public.posts FROM anon, authenticated, service_role;

REVOKE ALL ON public.tags FROM anon, authenticated, service_role;

REVOKE ALL ON public.post_tags FROM anon, authenticated, service_role;

REVOKE ALL ON public.alembic_version FROM anon, authenticated, service_role;

GRANT SELECT ON public.user_profiles, public.posts, public.tags, public.post_tags TO anon;

GRANT SELECT ON public.users, public.user_profiles, public.posts, public.tags, public.post_tags TO authenticated;

GRANT INSERT, UPDATE, DELETE ON public.user_profiles, public.posts TO authenticated;

GRANT INSERT, DELETE ON public.post_tags TO authenticated;

GRANT ALL ON public.users, public.user_profiles, public.posts, public.tags, public.post_tags TO service_role;

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.user_profiles ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.tags ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.post_tags ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.alembic_version ENABLE ROW LEVEL SECURITY;

CREATE POLICY users_select_authenticated ON public.users FOR SELECT TO authenticated USING (id = (SELECT auth.uid()));

CREATE POLICY user_profiles_select_anon ON public.user_profiles FOR SELECT TO anon USING (true);

CREATE POLICY user_profiles_select_authenticated ON public.user_profiles FOR SELECT TO authenticated USING (true);

CREATE POLICY user_profiles_insert_authenticated ON public.user_profiles FOR INSERT TO authenticated WITH CHECK (user_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

CREATE POLICY user_profiles_update_authenticated ON public.user_profiles FOR UPDATE TO authenticated USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

CREATE POLICY user_profiles_delete_authenticated ON public.user_profiles FOR DELETE TO authenticated USING (user_id = (SELECT auth.uid()));

CREATE POLICY posts_select_anon ON public.posts FOR SELECT TO anon USING (is_published);

CREATE POLICY posts_select_authenticated ON public.posts FOR SELECT TO authenticated USING (is_published OR author_id = (SELECT auth.uid()));

CREATE POLICY posts_insert_authenticated ON public.posts FOR INSERT TO authenticated WITH CHECK (author_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

CREATE POLICY posts_update_authenticated ON public.posts FOR UPDATE TO authenticated USING (author_id = (SELECT auth.uid())) WITH CHECK (author_id = (SELECT auth.uid()) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

CREATE POLICY posts_delete_authenticated ON public.posts FOR DELETE TO authenticated USING (author_id = (SELECT auth.uid()));

CREATE POLICY tags_select_anon ON public.tags FOR SELECT TO anon USING (true);

CREATE POLICY tags_select_authenticated ON public.tags FOR SELECT TO authenticated USING (true);

CREATE POLICY post_tags_select_anon ON public.post_tags FOR SELECT TO anon USING (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id));

CREATE POLICY post_tags_select_authenticated ON public.post_tags FOR SELECT TO authenticated USING (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id));

CREATE POLICY post_tags_insert_authenticated ON public.post_tags FOR INSERT TO authenticated WITH CHECK (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = (SELECT auth.uid())) AND EXISTS (SELECT FROM public.users u WHERE u.id = (SELECT auth.uid()) AND u.is_active));

CREATE POLICY post_tags_delete_authenticated ON public.post_tags FOR DELETE TO authenticated USING (EXISTS (SELECT FROM public.posts p WHERE p.id = post_id AND p.author_id = (SELECT auth.uid())));

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';
