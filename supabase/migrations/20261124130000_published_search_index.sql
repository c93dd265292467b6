-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0026: The search index covers published posts only
-- squawk-ignore-file require-concurrent-index-creation, require-concurrent-index-deletion

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0025 -> 0026

CREATE INDEX ix_posts_search_published ON posts USING gin (search_vector) WHERE is_published;

DROP INDEX IF EXISTS ix_posts_search;

UPDATE alembic_version SET version_num='0026' WHERE alembic_version.version_num = '0025';
