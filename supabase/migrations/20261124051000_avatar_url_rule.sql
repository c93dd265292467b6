-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0022: A profile's avatar URL follows the API's rule, whoever writes it
-- squawk-ignore-file ban-drop-constraint

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0021 -> 0022

ALTER TABLE public.user_profiles DROP CONSTRAINT ck_user_profiles_avatar_url_http;

ALTER TABLE public.user_profiles ADD CONSTRAINT ck_user_profiles_avatar_url_http CHECK (avatar_url ~ '^https?://([^\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff/?#@]*@)?[^\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff/?#@:][^\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff/?#@]*([/?#][^\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]*)?$') NOT VALID;

UPDATE alembic_version SET version_num='0022' WHERE alembic_version.version_num = '0021';
