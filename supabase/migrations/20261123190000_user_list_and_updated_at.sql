-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0016: The admin's user list reads an index; a user's `updated_at` moves only when they change
-- squawk-ignore-file require-concurrent-index-creation

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0015 -> 0016

CREATE INDEX ix_users_created_at ON users (created_at DESC, id DESC);

DROP TRIGGER users_set_updated_at ON public.users;

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW WHEN ((OLD.name, OLD.email, OLD.role, OLD.is_active) IS DISTINCT FROM (NEW.name, NEW.email, NEW.role, NEW.is_active)) EXECUTE FUNCTION public.set_updated_at();

UPDATE alembic_version SET version_num='0016' WHERE alembic_version.version_num = '0015';
