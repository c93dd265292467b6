-- Exported from the Alembic history by `make supabase-migrations`: do not edit.
-- Alembic revision 0001: Initial schema: users, profiles, posts, tags and their indexes

SET LOCAL lock_timeout = '10s';

SET LOCAL statement_timeout = '0';

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

DO $$
BEGIN
    IF to_regclass('auth.users') IS NULL THEN
        CREATE SCHEMA IF NOT EXISTS auth;
        CREATE TABLE auth.users (
            id uuid PRIMARY KEY,
            email text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
    END IF;
END
$$;

CREATE TABLE users (
    name VARCHAR(100) NOT NULL, 
    id UUID NOT NULL, 
    email VARCHAR(255) NOT NULL, 
    role VARCHAR(20) DEFAULT 'user' NOT NULL, 
    is_active BOOLEAN DEFAULT 'true' NOT NULL, 
    last_seen_at TIMESTAMP WITH TIME ZONE, 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    CONSTRAINT pk_users PRIMARY KEY (id), 
    CONSTRAINT ck_users_role CHECK (role IN ('user', 'moderator', 'admin')), 
    CONSTRAINT fk_users_id_users FOREIGN KEY(id) REFERENCES auth.users (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX uq_users_email_lower ON users (lower(email));

CREATE TABLE user_profiles (
    bio VARCHAR(500), 
    avatar_url VARCHAR(2048), 
    id UUID DEFAULT gen_random_uuid() NOT NULL, 
    user_id UUID NOT NULL, 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    CONSTRAINT pk_user_profiles PRIMARY KEY (id), 
    CONSTRAINT fk_user_profiles_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
    CONSTRAINT uq_user_profiles_user_id UNIQUE (user_id)
);

CREATE TABLE posts (
    title VARCHAR(200) NOT NULL, 
    content TEXT NOT NULL, 
    id UUID DEFAULT gen_random_uuid() NOT NULL, 
    author_id UUID NOT NULL, 
    slug VARCHAR(200) NOT NULL, 
    is_published BOOLEAN DEFAULT 'false' NOT NULL, 
    published_at TIMESTAMP WITH TIME ZONE, 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL, 
    CONSTRAINT pk_posts PRIMARY KEY (id), 
    CONSTRAINT fk_posts_author_id_users FOREIGN KEY(author_id) REFERENCES users (id) ON DELETE CASCADE, 
    CONSTRAINT uq_posts_slug UNIQUE (slug)
);

CREATE INDEX ix_posts_author_id_created_at ON posts (author_id, created_at);

CREATE INDEX ix_posts_published_at_published ON posts (published_at DESC, id DESC) WHERE is_published;

CREATE INDEX ix_posts_author_id_published_at_published ON posts (author_id, published_at DESC, id DESC) WHERE is_published;

CREATE INDEX ix_posts_search ON posts USING gin (to_tsvector('english'::regconfig, title || ' ' || content));

CREATE TABLE tags (
    name VARCHAR(50) NOT NULL, 
    id UUID DEFAULT gen_random_uuid() NOT NULL, 
    slug VARCHAR(50) NOT NULL, 
    CONSTRAINT pk_tags PRIMARY KEY (id), 
    CONSTRAINT uq_tags_slug UNIQUE (slug)
);

CREATE UNIQUE INDEX uq_tags_name_lower ON tags (lower(name));

CREATE TABLE post_tags (
    post_id UUID NOT NULL, 
    tag_id UUID NOT NULL, 
    CONSTRAINT pk_post_tags PRIMARY KEY (post_id, tag_id), 
    CONSTRAINT fk_post_tags_post_id_posts FOREIGN KEY(post_id) REFERENCES posts (id) ON DELETE CASCADE, 
    CONSTRAINT fk_post_tags_tag_id_tags FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE
);

CREATE INDEX ix_post_tags_tag_id ON post_tags (tag_id);

CREATE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$;;

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER user_profiles_set_updated_at BEFORE UPDATE ON public.user_profiles FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER posts_set_updated_at BEFORE UPDATE ON public.posts FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;
