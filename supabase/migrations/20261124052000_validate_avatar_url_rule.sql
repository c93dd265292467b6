-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0023: Validate the avatar URL rule (added NOT VALID by 0022)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0022 -> 0023

ALTER TABLE public.user_profiles VALIDATE CONSTRAINT ck_user_profiles_avatar_url_http;

UPDATE alembic_version SET version_num='0023' WHERE alembic_version.version_num = '0022';
