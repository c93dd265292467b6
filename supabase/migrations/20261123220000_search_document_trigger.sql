-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0018: A post's search document is kept by a trigger, so a bulk load can write documents it built
-- squawk-ignore-file ban-drop-generated-expression

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

-- Running upgrade 0017 -> 0018

ALTER TABLE public.posts ALTER COLUMN search_vector DROP EXPRESSION;

CREATE FUNCTION public.set_post_search_vector() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    NEW.search_vector := to_tsvector('english'::regconfig, NEW.title || ' ' || NEW.content);
    RETURN NEW;
END;
$$;

CREATE TRIGGER posts_search_vector BEFORE INSERT OR UPDATE OF title, content, search_vector ON public.posts FOR EACH ROW EXECUTE FUNCTION public.set_post_search_vector();

UPDATE alembic_version SET version_num='0018' WHERE alembic_version.version_num = '0017';
