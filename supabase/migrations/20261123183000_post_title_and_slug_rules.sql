-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0013: A post's title has a visible character and its slug is what the API would make of a title

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0012 -> 0013

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_title_visible CHECK (btrim(title, ' ') <> '') NOT VALID;

ALTER TABLE public.posts ADD CONSTRAINT ck_posts_slug_shape CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$') NOT VALID;

UPDATE alembic_version SET version_num='0013' WHERE alembic_version.version_num = '0012';
