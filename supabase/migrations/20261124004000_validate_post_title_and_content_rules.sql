-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0020: Validate posts' title and content rules (added NOT VALID by 0019)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0019 -> 0020

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_title_one_visible_line;

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_content_length;

UPDATE alembic_version SET version_num='0020' WHERE alembic_version.version_num = '0019';
