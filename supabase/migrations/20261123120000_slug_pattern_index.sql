-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0007: Posts' slugs are unique through an index that also serves prefix matches
-- squawk-ignore-file require-concurrent-index-creation, ban-drop-constraint, renaming-object

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0006 -> 0007

CREATE UNIQUE INDEX uq_posts_slug_pattern ON posts (slug varchar_pattern_ops);

ALTER TABLE posts DROP CONSTRAINT uq_posts_slug;

ALTER INDEX uq_posts_slug_pattern RENAME TO uq_posts_slug;

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';
