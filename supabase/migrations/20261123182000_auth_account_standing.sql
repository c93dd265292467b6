-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0012: The local auth.users stand-in gains Supabase Auth's `banned_until` and `deleted_at`

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0011 -> 0012

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM information_schema.columns
        WHERE table_schema = 'auth' AND table_name = 'users' AND column_name = 'banned_until'
    ) THEN
        ALTER TABLE auth.users
            ADD COLUMN banned_until timestamptz,
            ADD COLUMN deleted_at timestamptz;
    END IF;
END
$$;

UPDATE alembic_version SET version_num='0012' WHERE alembic_version.version_num = '0011';
