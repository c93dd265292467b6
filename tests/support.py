"""Helpers the tests share: databases, tokens, accounts."""

import uuid
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import issue_token
from api.settings import LOCAL_JWT_SECRET
from db.url import parse_database_url

TEST_JWT_SECRET = LOCAL_JWT_SECRET


def asyncpg_dsn(url: str) -> dict[str, Any]:
    """Keyword arguments for asyncpg.connect from any URL Quire accepts."""
    target = parse_database_url(url)
    args = {k: v for k, v in target.connect_args.items() if k in {"ssl", "timeout"}}
    if target.is_transaction_pooler:
        args["statement_cache_size"] = 0
    return {
        "user": target.url.username,
        "password": target.url.password,
        "host": target.url.host,
        "port": target.url.port,
        "database": target.url.database,
        **args,
    }


def with_database(url: str, name: str) -> str:
    target = parse_database_url(url)
    return target.url.set(database=name, drivername="postgresql").render_as_string(False)


async def recreate_database(url: str, name: str) -> str:
    """Drop and create database `name` on the server behind `url`; return its URL."""
    connection = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(url, name)


def make_token(
    sub: uuid.UUID | str,
    email: str | None = "reader@example.com",
    *,
    secret: str = TEST_JWT_SECRET,
    **options: Any,
) -> str:
    return issue_token(sub, email, secret=secret, **options)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_account(session: AsyncSession, email: str) -> uuid.UUID:
    """Register an account in `auth.users`, as Supabase Auth's sign-up would."""
    account_id = uuid.uuid4()
    await session.exec(  # type: ignore[call-overload]
        text("INSERT INTO auth.users (id, email) VALUES (:id, :email)").bindparams(
            id=account_id, email=email
        )
    )
    return account_id
