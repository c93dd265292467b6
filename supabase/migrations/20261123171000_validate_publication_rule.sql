-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0009: Validate that every published post has a publication time (added NOT VALID by 0008)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0008 -> 0009

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_published_posts_have_published_at;

UPDATE alembic_version SET version_num='0009' WHERE alembic_version.version_num = '0008';
