"""A profile found or created while another transaction deletes it."""

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from db.repositories import users
from tests.api.races import execute, register


async def test_an_empty_upsert_makes_again_a_profile_deleted_after_its_insert(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insert leaves an existing profile alone; a deletion committed before the read that
    follows (through the Data API, or with the account) left that read with no row, a 500."""
    [(account_id, email)] = await register(engine)
    await execute(
        engine, "INSERT INTO users (id, email, name) VALUES (:id, :email, 'Pat')",
        id=account_id, email=email,
    )  # fmt: skip
    await execute(
        engine, "INSERT INTO user_profiles (user_id, bio) VALUES (:id, 'Hi')", id=account_id
    )
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            run = session.exec
            deleted: list[uuid.UUID] = []

            async def deleted_after_the_first_statement(
                statement: object, **keywords: object
            ) -> object:
                result = await run(statement, **keywords)  # type: ignore[call-overload]
                if not deleted:
                    deleted.append(account_id)
                    await execute(
                        engine, "DELETE FROM user_profiles WHERE user_id = :id", id=account_id
                    )
                return result

            monkeypatch.setattr(session, "exec", deleted_after_the_first_statement)
            profile = await users.upsert_profile(session, account_id, {})
            await session.commit()
        assert (profile.user_id, profile.bio) == (account_id, None)
    finally:
        await execute(engine, "DELETE FROM auth.users WHERE id = :id", id=account_id)
