-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0015: A profile upserted through the Data API: `authenticated` may also name its owner on update

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0014 -> 0015

GRANT UPDATE (user_id) ON public.user_profiles TO authenticated;

UPDATE alembic_version SET version_num='0015' WHERE alembic_version.version_num = '0014';
