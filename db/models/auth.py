"""Supabase Auth's user table, declared only so `users.id` can reference it.

Quire does not own this table: on Supabase it belongs to Supabase Auth, and on a plain
PostgreSQL the first migration creates a minimal stand-in when it is absent. Autogenerate
ignores the `auth` schema (see `db/migrations/env.py`).
"""

from sqlalchemy import Column, DateTime, Table, Text, Uuid
from sqlmodel import SQLModel

auth_users = Table(
    "users",
    SQLModel.metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", Text),
    Column("created_at", DateTime(timezone=True)),
    # Set by Supabase Auth for a banned or soft-deleted account (the stand-in has them: 0012).
    Column("banned_until", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    schema="auth",
)

# Whether auth.users is Supabase Auth's own: it has columns the local stand-in lacks.
SUPABASE_AUTH_PROBE = (
    "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'auth' "
    "AND table_name = 'users' AND column_name = 'instance_id')"
)
