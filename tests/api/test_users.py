"""Signing in with a token, the caller's own view, profiles and public user pages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from db.repositories.users import SEEN_RESOLUTION
from tests.api.factories import create_post
from tests.conftest import Accounts
from tests.support import StatementLog, bearer, make_token, run_sql

ME = "/api/v1/users/me"


async def test_updated_at_moves_when_the_user_changes_not_when_they_publish(
    client: AsyncClient, accounts: Accounts
) -> None:
    """Counts and last_seen_at are bookkeeping; a name is the user's."""
    _, headers = await accounts.new()
    before = (await client.get(ME, headers=headers)).json()

    await create_post(client, headers, "Counted", published=True)
    after_publishing = (await client.get(ME, headers=headers)).json()
    renamed = await client.patch(ME, json={"name": "New"}, headers=headers)

    assert after_publishing["updated_at"] == before["updated_at"]
    assert renamed.json()["updated_at"] > before["updated_at"]


async def test_first_request_creates_the_user_from_the_token(
    client: AsyncClient, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new("grace.hopper@example.com")
    response = await client.get(ME, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user_id)
    assert body["email"] == "grace.hopper@example.com"
    # Named after the id, not the email: names are public.
    assert body["name"] == f"user-{user_id.hex[:8]}"
    assert body["role"] == "user"
    assert body["is_active"] is True
    assert body["profile"] is None
    assert {"created_at", "updated_at"} <= body.keys()


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"full_name": "  Grace Hopper ", "name": "grace"}, "Grace Hopper"),
        ({"name": "Grace"}, "Grace"),
        ({"full_name": "G" * 150}, "G" * 100),
        ({"full_name": "Grace\nHopper", "name": "Grace"}, "Grace"),
        ({"full_name": " \u200b ", "name": ["Grace"]}, None),
        ("Grace", None),
    ],
)
async def test_a_new_user_is_named_as_their_supabase_account(
    client: AsyncClient, accounts: Accounts, metadata: object, expected: str | None
) -> None:
    """`user_metadata.full_name` (OAuth providers fill it in), else `.name`; one a user could
    not choose here (two lines, blanks only, not text) is passed over."""
    email = f"{uuid.uuid4().hex}@example.com"
    user_id, _ = await accounts.new(email)
    token = make_token(user_id, email, user_metadata=metadata)
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["name"] == (expected or f"user-{user_id.hex[:8]}")


async def test_a_new_email_in_the_token_is_kept_in_sync(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new("old@example.com")
    await client.get(ME, headers=headers)
    response = await client.get(ME, headers=bearer(make_token(user_id, "new@example.com")))
    assert response.json()["email"] == "new@example.com"


async def test_last_seen_is_stamped(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    await client.get(ME, headers=headers)
    seen = await run_sql(session, "SELECT last_seen_at FROM users WHERE id = :id", id=user_id)
    assert seen.scalar() is not None


async def last_seen(session: AsyncSession, user_id: uuid.UUID) -> datetime:
    result = await run_sql(session, "SELECT last_seen_at FROM users WHERE id = :id", id=user_id)
    seen: datetime = result.scalar_one()
    return seen


async def set_last_seen(session: AsyncSession, user_id: uuid.UUID, seen: datetime) -> None:
    await run_sql(
        session, "UPDATE users SET last_seen_at = :seen WHERE id = :id", seen=seen, id=user_id
    )


async def test_a_request_moves_an_old_last_seen_forward(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    await client.get(ME, headers=headers)
    # Just past the resolution, and only further past it as the test runs.
    stale = datetime.now(UTC) - SEEN_RESOLUTION - timedelta(seconds=1)
    await set_last_seen(session, user_id, stale)
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert await last_seen(session, user_id) > stale


async def test_a_request_leaves_a_recent_last_seen_unwritten(
    client: AsyncClient, session: AsyncSession, accounts: Accounts, count_statements: StatementLog
) -> None:
    user_id, headers = await accounts.new()
    await client.get(ME, headers=headers)
    # From the clock sign-in compares with; still recent unless the next request takes a minute.
    recent = datetime.now(UTC)
    await set_last_seen(session, user_id, recent)
    await count_statements.clear()
    assert (await client.get(ME, headers=headers)).status_code == 200
    statements = [s.lstrip().upper() for s in await count_statements.statements()]
    assert not [s for s in statements if s.startswith(("INSERT", "UPDATE"))], statements
    assert await last_seen(session, user_id) == recent


async def test_a_deactivated_accounts_refused_request_leaves_nothing_behind(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    await client.get(ME, headers=headers)
    stale = datetime(2020, 1, 1, tzinfo=UTC)
    await run_sql(session, "UPDATE users SET is_active = false WHERE id = :id", id=user_id)
    await set_last_seen(session, user_id, stale)
    await session.commit()  # outlives the refused request's rollback; the test still rolls back
    assert (await client.get(ME, headers=headers)).status_code == 403
    assert await last_seen(session, user_id) == stale


async def test_a_token_without_an_email_is_a_401_that_says_so(
    client: AsyncClient, accounts: Accounts
) -> None:
    user_id, _ = await accounts.new()
    response = await client.get(ME, headers=bearer(make_token(user_id, None)))
    assert response.status_code == 401, response.text
    assert "email" in response.json()["detail"]


async def test_missing_malformed_expired_and_forged_tokens_are_401(
    client: AsyncClient, accounts: Accounts
) -> None:
    user_id, _ = await accounts.new("someone@example.com")
    cases = {
        "missing": {},
        "not a bearer": {"Authorization": "Basic abc"},
        "malformed": bearer("not-a-jwt"),
        "expired": bearer(make_token(user_id, "someone@example.com", expires_in=-3600)),
        "wrong secret": bearer(make_token(user_id, "someone@example.com", secret="x" * 40)),
    }
    for case, headers in cases.items():
        response = await client.get(ME, headers=headers)
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"] == "Bearer", case
        assert response.headers["content-type"] == "application/problem+json", case


async def test_a_deleted_account_is_401(client: AsyncClient) -> None:
    response = await client.get(ME, headers=bearer(make_token(uuid.uuid4(), "ghost@example.com")))
    assert response.status_code == 401
    assert "no longer exists" in response.json()["detail"]


@pytest.mark.parametrize(
    "standing",
    ["banned_until = now() + interval '1 day'", "deleted_at = now()"],
    ids=["banned", "soft-deleted"],
)
async def test_a_banned_or_deleted_account_is_refused_at_its_next_refresh(
    client: AsyncClient, session: AsyncSession, accounts: Accounts, standing: str
) -> None:
    user_id, headers = await accounts.new()
    assert (await client.get(ME, headers=headers)).status_code == 200
    stale = datetime.now(UTC) - SEEN_RESOLUTION - timedelta(seconds=1)
    await run_sql(
        session, "UPDATE users SET last_seen_at = :at WHERE id = :id", at=stale, id=user_id
    )
    await run_sql(session, f"UPDATE auth.users SET {standing} WHERE id = :id", id=user_id)
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401
    assert "banned" in response.json()["detail"]


async def test_a_ban_that_has_ended_lets_the_account_back_in(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    await run_sql(
        session,
        "UPDATE auth.users SET banned_until = now() - interval '1 day' WHERE id = :id",
        id=user_id,
    )
    assert (await client.get(ME, headers=headers)).status_code == 200


async def test_an_email_used_by_another_user_is_409(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, first = await accounts.new("taken@example.com")
    assert (await client.get(ME, headers=first)).status_code == 200
    other_id, _ = await accounts.new("other@example.com")
    response = await client.get(ME, headers=bearer(make_token(other_id, "TAKEN@example.com")))
    assert response.status_code == 409
    assert response.json()["status"] == 409


async def test_an_email_given_up_in_supabase_auth_passes_to_its_new_owner(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    """Ada changes her email in Supabase Auth and makes no request here; Bob signs up with her
    old one, and is let in rather than refused until Ada comes back."""
    ada_id, ada = await accounts.new("shared@example.com")
    assert (await client.get(ME, headers=ada)).status_code == 200
    await run_sql(
        session, "UPDATE auth.users SET email = 'ada@example.com' WHERE id = :id", id=ada_id
    )
    _, bob = await accounts.new("Shared@example.com")
    response = await client.get(ME, headers=bob)
    assert response.status_code == 200, response.text
    email = await run_sql(session, "SELECT email FROM users WHERE id = :id", id=ada_id)
    assert email.scalar() == "ada@example.com"


async def test_a_deactivated_user_is_403(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    await client.get(ME, headers=headers)
    await run_sql(session, "UPDATE users SET is_active = false WHERE id = :id", id=user_id)
    assert (await client.get(ME, headers=headers)).status_code == 403


async def test_a_deactivated_authors_page_stays_with_their_posts(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new("dormant@example.com")
    await create_post(client, headers, "Still here")
    await run_sql(session, "UPDATE users SET is_active = false WHERE id = :id", id=user_id)
    listed = (await client.get("/api/v1/posts")).json()["items"]
    assert [post["author"]["id"] for post in listed] == [str(user_id)]
    page = await client.get(f"/api/v1/users/{user_id}")
    assert page.status_code == 200
    assert page.json()["id"] == str(user_id)
    assert "email" not in page.json()


async def test_rename(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    response = await client.patch(ME, json={"name": "  Ada Lovelace  "}, headers=headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Ada Lovelace"
    assert (await client.get(ME, headers=headers)).json()["name"] == "Ada Lovelace"


async def test_rename_refuses_blank_and_long_names(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    for name in ["", "   ", "x" * 101]:
        response = await client.patch(ME, json={"name": name}, headers=headers)
        assert response.status_code == 422, name
        assert response.json()["errors"][0]["field"] == "name"


async def test_profile_upsert_creates_then_updates(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    created = await client.put(f"{ME}/profile", json={"bio": "Hello"}, headers=headers)
    assert created.status_code == 200
    assert created.json() == {"bio": "Hello", "avatar_url": None}
    updated = await client.put(
        f"{ME}/profile", json={"avatar_url": "https://cdn.example.com/a.png"}, headers=headers
    )
    assert updated.json() == {"bio": "Hello", "avatar_url": "https://cdn.example.com/a.png"}
    cleared = await client.put(f"{ME}/profile", json={"bio": None}, headers=headers)
    assert cleared.json()["bio"] is None
    me = (await client.get(ME, headers=headers)).json()
    assert me["profile"] == {"bio": None, "avatar_url": "https://cdn.example.com/a.png"}


async def test_an_empty_profile_update_creates_or_leaves_it_unwritten(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new()
    created = await client.put(f"{ME}/profile", json={}, headers=headers)
    assert created.json() == {"bio": None, "avatar_url": None}
    await client.put(f"{ME}/profile", json={"bio": "Kept"}, headers=headers)
    # A row written again gets a new version, at a new place.
    written = "SELECT ctid::text FROM user_profiles WHERE user_id = :u"
    version = (await run_sql(session, written, u=user_id)).scalar()
    again = await client.put(f"{ME}/profile", json={}, headers=headers)
    assert again.json() == {"bio": "Kept", "avatar_url": None}
    assert (await run_sql(session, written, u=user_id)).scalar() == version


async def test_profile_refuses_bad_values(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    for body in [{"bio": "x" * 501}, {"avatar_url": "javascript:alert(1)"}, {"unknown": 1}]:
        response = await client.put(f"{ME}/profile", json=body, headers=headers)
        assert response.status_code == 422, body


async def test_public_user_page_never_shows_the_email(
    client: AsyncClient, accounts: Accounts
) -> None:
    user_id, headers = await accounts.new("private@example.com")
    await client.put(f"{ME}/profile", json={"bio": "Writer"}, headers=headers)
    response = await client.get(f"/api/v1/users/{user_id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(user_id),
        "name": f"user-{user_id.hex[:8]}",
        "profile": {"bio": "Writer", "avatar_url": None},
    }
    assert "private" not in response.text


async def test_unknown_and_malformed_user_ids(client: AsyncClient) -> None:
    assert (await client.get(f"/api/v1/users/{uuid.uuid4()}")).status_code == 404
    malformed = await client.get("/api/v1/users/not-a-uuid")
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "user_id"


async def test_sign_in_is_one_statement_for_a_known_user(
    client: AsyncClient, accounts: Accounts, count_statements: StatementLog
) -> None:
    _, headers = await accounts.new()
    await client.get(ME, headers=headers)
    await count_statements.clear()
    await client.get(ME, headers=headers)
    statements = await count_statements.statements()
    assert len(statements) == 1, statements
    assert "FROM users" in statements[0]
    assert not statements[0].lstrip().upper().startswith("INSERT")


@pytest.mark.parametrize("scheme", ["", "Token ", "JWT ", "Basic "])
async def test_a_token_without_the_bearer_scheme_says_how_to_send_it(
    client: AsyncClient, accounts: Accounts, scheme: str
) -> None:
    _, headers = await accounts.new()
    token = headers["Authorization"].removeprefix("Bearer ")

    for path in (ME, "/api/v1/posts/any-post"):
        response = await client.get(path, headers={"Authorization": f"{scheme}{token}"})

        assert response.status_code == 401, (path, response.text)
        assert "Bearer <access token>" in response.json()["detail"]
