"""Production settings: every token and cursor is signed with a secret of the project's."""

import pytest
from pydantic import SecretStr, ValidationError

from api.auth import TokenVerifier, issue_token
from api.errors import Unauthorized
from api.settings import (
    LOCAL_JWT_SECRET,
    AppSettings,
    DatabaseSettings,
    Settings,
    SupabaseSettings,
)

PROJECT_URL = "https://abc.supabase.co"
DATABASE = DatabaseSettings(url="postgresql://quire@db.example.com/quire")


def production(
    *, url: str | None = None, jwt_secret: str | None = None, cursor_secret: str | None = None
) -> Settings:
    app = AppSettings(
        environment="production", cursor_secret=SecretStr(cursor_secret) if cursor_secret else None
    )
    supabase = SupabaseSettings(url=url)
    if jwt_secret is not None:
        supabase = SupabaseSettings(url=url, jwt_secret=SecretStr(jwt_secret))
    return Settings(app=app, database=DATABASE, supabase=supabase)


async def test_signing_keys_alone_verify_tokens_once_cursors_have_their_own_secret() -> None:
    """A project that revoked its legacy JWT secret: HS256 tokens are no longer accepted."""
    settings = production(url=PROJECT_URL, cursor_secret="c" * 40)
    assert settings.cursor_key() == "c" * 40
    verifier = TokenVerifier.from_settings(settings.supabase)
    forged = issue_token(
        "8f7d3a5e-4b1c-4e8a-9d2f-1a2b3c4d5e6f",
        "someone@example.com",
        secret=LOCAL_JWT_SECRET,
        issuer=settings.supabase.auth_issuer,
    )
    with pytest.raises(Unauthorized):
        await verifier.verify(forged)


def test_cursors_fall_back_to_the_jwt_secret() -> None:
    assert production(jwt_secret="s" * 40).cursor_key() == "s" * 40


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({}, "SUPABASE_JWT_SECRET is the local development placeholder"),
        ({"url": PROJECT_URL}, "QUIRE_CURSOR_SECRET"),
        ({"url": "http://abc.supabase.co", "jwt_secret": "s" * 40}, "https://"),
    ],
    ids=["tokens forgeable", "cursors forgeable", "keys fetched in the clear"],
)
def test_production_refuses_what_anyone_could_sign(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        production(**changes)


def test_a_local_supabase_stack_may_be_plain_http() -> None:
    settings = production(url="http://127.0.0.1:54321", jwt_secret="s" * 40)
    assert settings.supabase.jwks_url == "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json"


@pytest.mark.parametrize(
    "url",
    [
        "https://abc.supabase.co/rest/v1/",
        "https://abc.supabase.co/auth/v1",
        "https://?x",
        "https://",
        "https://abc.supabase.co?apikey=x",
        "https://abc.supabase.co/#auth",
    ],
)
def test_a_supabase_url_is_the_project_url_alone(url: str) -> None:
    """The dashboard also shows the REST endpoint: pasted, every token would be refused."""
    with pytest.raises(ValidationError, match="the project's URL alone"):
        Settings(supabase=SupabaseSettings(url=url))
    settings = Settings(supabase=SupabaseSettings(url="https://abc.supabase.co/"))
    assert settings.supabase.auth_issuer == "https://abc.supabase.co/auth/v1"


def test_signing_keys_are_never_fetched_in_the_clear_whatever_the_environment() -> None:
    with pytest.raises(ValidationError, match="https://"):
        Settings(supabase=SupabaseSettings(url="http://abc.supabase.co"))


@pytest.mark.parametrize("url", ["http://localhost:54321", "http://[::1]:54321"])
def test_a_local_supabase_stack_may_be_named_localhost(url: str) -> None:
    settings = production(url=url, jwt_secret="s" * 40)
    assert settings.supabase.auth_issuer == f"{url}/auth/v1"


@pytest.mark.parametrize(
    "url", ["http://localhost.attacker.example", "http://127.0.0.1.nip.io", "http://10.0.0.1"]
)
def test_plain_http_is_for_this_machine_alone(url: str) -> None:
    """A host that only starts like a loopback name is anywhere on the network."""
    with pytest.raises(ValidationError, match="https://"):
        Settings(supabase=SupabaseSettings(url=url))


def test_an_empty_variable_is_as_if_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`.env.example` lists `SUPABASE_JWT_SECRET=` and `QUIRE_CURSOR_SECRET=`: left empty,
    production still refuses the placeholder rather than signing with an empty secret."""
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://quire@db.example.com/quire")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "")
    monkeypatch.setenv("QUIRE_CURSOR_SECRET", "")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings()
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "local")
    monkeypatch.setenv("QUIRE_CORS_ORIGINS", "")
    monkeypatch.setenv("PORT", "")
    settings = Settings()
    assert (settings.app.cors_origins, settings.server.port) == ([], 8000)
