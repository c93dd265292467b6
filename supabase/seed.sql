-- Quire's demo data: two writers, their profiles, three posts (one still a draft) and tags.
--
-- `supabase db reset` loads it after supabase/migrations (see [db.seed] in config.toml). On
-- Supabase the two accounts can sign in through Supabase Auth with the password
-- `quire-demo-password`; on a plain PostgreSQL they go into the local auth.users stand-in.
-- Running it twice changes nothing.

DO $$
BEGIN
    IF EXISTS (
        SELECT FROM information_schema.columns
        WHERE table_schema = 'auth' AND table_name = 'users'
          AND column_name = 'encrypted_password'
    ) THEN
        -- Supabase Auth: confirmed email accounts, with the identity row sign-in looks up.
        -- Its token columns must be '' rather than NULL.
        INSERT INTO auth.users (
            instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
            raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
            confirmation_token, recovery_token, email_change, email_change_token_new
        )
        SELECT
            '00000000-0000-0000-0000-000000000000', account.id, 'authenticated',
            'authenticated', account.email,
            extensions.crypt('quire-demo-password', extensions.gen_salt('bf')), now(),
            '{"provider": "email", "providers": ["email"]}', '{}', now(), now(),
            '', '', '', ''
        FROM (VALUES
            ('a1a1a1a1-0000-4000-8000-000000000001'::uuid, 'ada@example.com'),
            ('b2b2b2b2-0000-4000-8000-000000000002'::uuid, 'grace@example.com')
        ) AS account (id, email)
        ON CONFLICT (id) DO NOTHING;

        INSERT INTO auth.identities (
            id, user_id, provider_id, provider, identity_data, last_sign_in_at, created_at,
            updated_at
        )
        SELECT
            u.id, u.id, u.id::text, 'email',
            jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true),
            now(), now(), now()
        FROM auth.users u
        WHERE u.id IN (
            'a1a1a1a1-0000-4000-8000-000000000001', 'b2b2b2b2-0000-4000-8000-000000000002'
        )
        ON CONFLICT (provider_id, provider) DO NOTHING;
    ELSE
        INSERT INTO auth.users (id, email) VALUES
            ('a1a1a1a1-0000-4000-8000-000000000001', 'ada@example.com'),
            ('b2b2b2b2-0000-4000-8000-000000000002', 'grace@example.com')
        ON CONFLICT (id) DO NOTHING;
    END IF;
END
$$;

INSERT INTO public.users (id, email, name, role) VALUES
    ('a1a1a1a1-0000-4000-8000-000000000001', 'ada@example.com', 'Ada Lovelace', 'admin'),
    ('b2b2b2b2-0000-4000-8000-000000000002', 'grace@example.com', 'Grace Hopper', 'user')
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.user_profiles (user_id, bio) VALUES
    ('a1a1a1a1-0000-4000-8000-000000000001', 'Writes about engines, analytical and otherwise.'),
    ('b2b2b2b2-0000-4000-8000-000000000002', 'Compilers, debugging, and the occasional moth.')
ON CONFLICT (user_id) DO NOTHING;

INSERT INTO public.tags (id, name, slug) VALUES
    ('c3c3c3c3-0000-4000-8000-000000000001', 'History', 'history'),
    ('c3c3c3c3-0000-4000-8000-000000000002', 'Programming', 'programming'),
    ('c3c3c3c3-0000-4000-8000-000000000003', 'PostgreSQL', 'postgresql')
ON CONFLICT DO NOTHING;

INSERT INTO public.posts (id, author_id, title, slug, content, is_published, published_at) VALUES
    (
        'd4d4d4d4-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000001',
        'Notes on the Analytical Engine', 'notes-on-the-analytical-engine',
        'The engine weaves algebraic patterns just as the loom weaves flowers and leaves.',
        true, now() - interval '2 days'
    ),
    (
        'd4d4d4d4-0000-4000-8000-000000000002', 'b2b2b2b2-0000-4000-8000-000000000002',
        'The first actual bug', 'the-first-actual-bug',
        'Relay 70, panel F: a moth, taped into the logbook.',
        true, now() - interval '1 day'
    ),
    (
        'd4d4d4d4-0000-4000-8000-000000000003', 'b2b2b2b2-0000-4000-8000-000000000002',
        'Row Level Security, explained (draft)', 'row-level-security-explained-draft',
        'Only its author can read this until it is published.',
        false, NULL
    )
ON CONFLICT DO NOTHING;

INSERT INTO public.post_tags (post_id, tag_id) VALUES
    ('d4d4d4d4-0000-4000-8000-000000000001', 'c3c3c3c3-0000-4000-8000-000000000001'),
    ('d4d4d4d4-0000-4000-8000-000000000001', 'c3c3c3c3-0000-4000-8000-000000000002'),
    ('d4d4d4d4-0000-4000-8000-000000000002', 'c3c3c3c3-0000-4000-8000-000000000001'),
    ('d4d4d4d4-0000-4000-8000-000000000003', 'c3c3c3c3-0000-4000-8000-000000000003')
ON CONFLICT DO NOTHING;
