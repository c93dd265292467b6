"""Administration: search users, change roles and status, deactivate the inactive."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.conftest import Accounts
from tests.support import run_sql

ADMIN = "/api/v1/admin/users"


async def signed_in(
    client: AsyncClient, accounts: Accounts, email: str
) -> tuple[str, dict[str, str]]:
    user_id, headers = await accounts.new(email)
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    return str(user_id), headers


async def admin_headers(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> dict[str, str]:
    admin_id, headers = await signed_in(client, accounts, "boss@example.com")
    await run_sql(session, "UPDATE users SET role = 'admin' WHERE id = :id", id=uuid.UUID(admin_id))
    await session.commit()
    return headers


async def test_admin_routes_refuse_non_admins(client: AsyncClient, accounts: Accounts) -> None:
    user_id, headers = await signed_in(client, accounts, "plain@example.com")
    calls = [
        client.get(ADMIN, headers=headers),
        client.patch(f"{ADMIN}/{user_id}", json={"role": "admin"}, headers=headers),
        client.post(f"{ADMIN}/deactivate-inactive", json={"days": 1}, headers=headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 403
    assert (await client.get(ADMIN)).status_code == 401


async def test_search_matches_email_or_name_in_any_case(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    await signed_in(client, accounts, "Marie.Curie@example.com")
    await signed_in(client, accounts, "pierre@example.com")
    response = await client.get(ADMIN, params={"q": "CURIE"}, headers=headers)
    assert response.status_code == 200
    assert [u["email"] for u in response.json()["items"]] == ["Marie.Curie@example.com"]
    wildcard = await client.get(ADMIN, params={"q": "%"}, headers=headers)
    assert wildcard.json()["items"] == []


async def test_a_search_out_of_bounds_is_explained_as_text(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    for q, message in [("", "at least 1 character"), ("a" * 256, "at most 255 characters")]:
        response = await client.get(ADMIN, params={"q": q}, headers=headers)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert (error["field"], error["message"]) == ("q", f"String should have {message}")


async def test_search_pages_and_filters_by_status(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    ids = [(await signed_in(client, accounts, f"u{n}@example.com"))[0] for n in range(4)]
    await run_sql(
        session, "UPDATE users SET is_active = false WHERE id = :id", id=uuid.UUID(ids[0])
    )
    await session.commit()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "is_active": "true"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(ADMIN, params=params, headers=headers)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(ids[1:]) <= set(seen)
    assert ids[0] not in seen
    assert len(seen) == len(set(seen)) == 4  # three users and the admin


async def test_change_role_and_status(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    user_id, user_headers = await signed_in(client, accounts, "member@example.com")
    response = await client.patch(
        f"{ADMIN}/{user_id}", json={"role": "moderator", "is_active": False}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "moderator"
    assert response.json()["is_active"] is False
    assert (await client.get("/api/v1/users/me", headers=user_headers)).status_code == 403


async def test_change_refuses_unknown_users_roles_and_self(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    me = (await client.get("/api/v1/users/me", headers=headers)).json()["id"]
    missing = await client.patch(f"{ADMIN}/{uuid.uuid4()}", json={"role": "user"}, headers=headers)
    assert missing.status_code == 404
    bad_role = await client.patch(f"{ADMIN}/{me}", json={"role": "owner"}, headers=headers)
    assert bad_role.status_code == 422
    own = await client.patch(f"{ADMIN}/{me}", json={"is_active": False}, headers=headers)
    assert own.status_code == 409


async def test_deactivate_inactive_users_in_bulk(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    stale, _ = await signed_in(client, accounts, "stale@example.com")
    fresh, _ = await signed_in(client, accounts, "fresh@example.com")
    await run_sql(
        session,
        "UPDATE users SET last_seen_at = now() - interval '40 days' WHERE id = :id",
        id=uuid.UUID(stale),
    )
    await session.commit()
    response = await client.post(f"{ADMIN}/deactivate-inactive", json={"days": 30}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"deactivated": 1}
    page = (await client.get(ADMIN, params={"is_active": "false"}, headers=headers)).json()
    assert [u["id"] for u in page["items"]] == [stale]
    for days in (0, -1, "x", None):
        bad = await client.post(
            f"{ADMIN}/deactivate-inactive", json={"days": days}, headers=headers
        )
        assert bad.status_code == 422, days
    active = (await client.get(ADMIN, params={"is_active": "true"}, headers=headers)).json()
    assert fresh in {u["id"] for u in active["items"]}


async def test_deactivation_accepts_days_up_to_a_hundred_years_and_no_more(
    client: AsyncClient, session: AsyncSession, accounts: Accounts
) -> None:
    headers = await admin_headers(client, session, accounts)
    path = f"{ADMIN}/deactivate-inactive"
    most = await client.post(path, json={"days": 36_500}, headers=headers)
    assert most.status_code == 200, most.text
    too_many = await client.post(path, json={"days": 36_501}, headers=headers)
    assert too_many.status_code == 422
