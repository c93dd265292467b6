-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0019: A post's title is one line with a visible character, and its content at most 50,000 characters
-- squawk-ignore-file ban-drop-constraint

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0018 -> 0019

ALTER TABLE public.posts DROP CONSTRAINT ck_posts_title_visible;

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_title_one_visible_line CHECK (title ~ '^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*[^\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff][^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$') NOT VALID;

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_content_length CHECK (char_length(content) <= 50000) NOT VALID;

UPDATE alembic_version SET version_num='0019' WHERE alembic_version.version_num = '0018';
