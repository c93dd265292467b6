"""Initial schema: users, profiles, posts, tags and their indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-23 02:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPED_TABLES = ("users", "user_profiles", "posts")

# On Supabase, auth.users belongs to Supabase Auth, and the migrating role may not create
# anything in the auth schema: PostgreSQL checks that privilege even for `IF NOT EXISTS`. On a
# plain PostgreSQL a minimal stand-in with the columns Quire relies on is created, only when
# the table is absent.
AUTH_STAND_IN = """
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
$$
"""

SET_UPDATED_AT = """
CREATE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$;
"""


def timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.execute(AUTH_STAND_IN)
    op.create_table(
        "users",
        sa.Column("name", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.AutoString(length=20), server_default="user", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        *timestamps(),
        sa.CheckConstraint("role IN ('user', 'moderator', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["id"], ["auth.users.id"], name=op.f("fk_users_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "user_profiles",
        sa.Column("bio", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("avatar_url", sqlmodel.AutoString(length=2048), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_user_profiles_user_id")),
    )

    op.create_table(
        "posts",
        sa.Column("title", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("is_published", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("slug", name=op.f("uq_posts_slug")),
    )
    op.create_index("ix_posts_author_id_created_at", "posts", ["author_id", "created_at"])
    op.create_index(
        "ix_posts_published_at_published",
        "posts",
        [sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("is_published"),
    )
    op.create_index(
        "ix_posts_author_id_published_at_published",
        "posts",
        ["author_id", sa.text("published_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("is_published"),
    )
    op.create_index(
        "ix_posts_search",
        "posts",
        [sa.text("to_tsvector('english'::regconfig, title || ' ' || content)")],
        postgresql_using="gin",
    )

    op.create_table(
        "tags",
        sa.Column("name", sqlmodel.AutoString(length=50), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sqlmodel.AutoString(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_tags_slug")),
    )
    op.create_index("uq_tags_name_lower", "tags", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_tags_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_post_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "tag_id", name=op.f("pk_post_tags")),
    )
    op.create_index(op.f("ix_post_tags_tag_id"), "post_tags", ["tag_id"])

    op.execute(SET_UPDATED_AT)
    for table in TIMESTAMPED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON public.{table} "
            "FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()"
        )


def downgrade() -> None:
    for table in TIMESTAMPED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_set_updated_at ON public.{table}")
    op.execute("DROP FUNCTION IF EXISTS public.set_updated_at()")
    op.drop_table("post_tags")
    op.drop_table("tags")
    op.drop_table("posts")
    op.drop_table("user_profiles")
    op.drop_table("users")
    # auth.users is left in place: on Supabase it is not ours, and locally it holds accounts.
