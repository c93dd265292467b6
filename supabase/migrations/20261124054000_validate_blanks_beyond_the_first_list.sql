-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0025: Validate the title and avatar URL rules (added NOT VALID by 0024)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0024 -> 0025

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_title_one_visible_line;

ALTER TABLE public.user_profiles VALIDATE CONSTRAINT ck_user_profiles_avatar_url_http;

UPDATE alembic_version SET version_num='0025' WHERE alembic_version.version_num = '0024';
