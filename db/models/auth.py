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
