-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0011: Validate that every profile's avatar is an http(s) URL (added NOT VALID by 0010)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0010 -> 0011

ALTER TABLE public.user_profiles VALIDATE CONSTRAINT ck_user_profiles_avatar_url_http;

UPDATE alembic_version SET version_num='0011' WHERE alembic_version.version_num = '0010';
