-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0004: A stored full-text document for searches
-- squawk-ignore-file adding-field-with-default, require-concurrent-index-creation, require-concurrent-index-deletion

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0003 -> 0004

DROP INDEX ix_posts_search;

ALTER TABLE posts ADD COLUMN search_vector TSVECTOR GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title || ' ' || content)) STORED NOT NULL;

CREATE INDEX ix_posts_search ON posts USING gin (search_vector);

ANALYZE posts;

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';
