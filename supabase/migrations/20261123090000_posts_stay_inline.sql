-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0005: Posts keep their content and search document in the row

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0004 -> 0005

ALTER TABLE posts SET (toast_tuple_target = 8160);

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';
