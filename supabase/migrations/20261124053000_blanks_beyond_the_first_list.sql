-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0024: Titles and avatar URLs: the Arabic letter mark, Hangul fillers, annotation marks are blanks
-- squawk-ignore-file ban-drop-constraint

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0023 -> 0024

ALTER TABLE public.posts DROP CONSTRAINT ck_posts_title_one_visible_line;

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_title_one_visible_line CHECK (title ~ '^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*[^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb][^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$') NOT VALID;

ALTER TABLE public.user_profiles DROP CONSTRAINT ck_user_profiles_avatar_url_http;

ALTER TABLE public.user_profiles ADD CONSTRAINT ck_user_profiles_avatar_url_http CHECK (avatar_url ~ '^https?://([^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb/?#@]*@)?[^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb/?#@:][^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb/?#@]*([/?#][^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\uffa0\ufff9-\ufffb]*)?$') NOT VALID;

UPDATE alembic_version SET version_num='0024' WHERE alembic_version.version_num = '0023';
