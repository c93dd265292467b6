-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0014: Validate posts' title and slug rules (added NOT VALID by 0013)

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0013 -> 0014

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_title_visible;

ALTER TABLE public.posts VALIDATE CONSTRAINT ck_posts_slug_shape;

UPDATE alembic_version SET version_num='0014' WHERE alembic_version.version_num = '0013';
