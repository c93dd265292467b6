"""Configuration, one small class per concern, read from the environment and `.env`."""

import difflib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

LOCAL_JWT_SECRET = "quire-local-development-secret-not-for-production"  # noqa: S105  # nosec B105
ENV_FILE = ".env"


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=ENV_FILE, extra="ignore", env_ignore_empty=True
    )


class AppSettings(BaseSettings):
    model_config = _config("QUIRE_")

    environment: Literal["local", "test", "production"] = "local"
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 1024 * 1024
    media_dir: Path = Path(".data/media")
    public_url: str = "http://127.0.0.1:8000"
    # Signs pagination cursors; SUPABASE_JWT_SECRET does when it is unset.
    cursor_secret: SecretStr | None = None


class DatabaseSettings(BaseSettings):
    model_config = _config("DATABASE_")

    url: str | None = None
    direct_url: str | None = None
    pool_mode: Literal["session", "transaction"] | None = None
    # Per process. On two cores, list pages ran 10-20% more requests a second with 8-12 pooled
    # connections than with 20, at lower p99s, and no other read or write did worse
    # (`make bench`'s scenarios, alternating; bench/README.md): fewer backends contend for
    # the same cores. A few workers also stay within a small Supabase compute's connections.
    pool_size: int = 10
    max_overflow: int = 0
    embedded_dir: Path = Path(".data/postgres")
    embedded_port: int = 54332
    embedded_name: str = "quire"


class SupabaseSettings(BaseSettings):
    model_config = _config("SUPABASE_")

    url: str | None = None
    jwt_secret: SecretStr = SecretStr(LOCAL_JWT_SECRET)
    service_role_key: SecretStr | None = None
    avatars_bucket: str = "avatars"
    jwks_cache_seconds: int = 600

    @property
    def hs256_secret(self) -> str | None:
        """What HS256 tokens are verified with: the JWT secret, but never the placeholder once
        a project is configured (a real project never signs with it: only a forger would)."""
        secret = self.jwt_secret.get_secret_value()
        return None if not secret or (self.url and secret == LOCAL_JWT_SECRET) else secret

    @property
    def auth_issuer(self) -> str | None:
        return f"{self.url.rstrip('/')}/auth/v1" if self.url else None

    @property
    def jwks_url(self) -> str | None:
        return f"{self.auth_issuer}/.well-known/jwks.json" if self.auth_issuer else None


class ServerSettings(BaseSettings):
    """How `make serve` runs: the unprefixed names hosting platforms set (`make dev` takes PORT)."""

    model_config = _config("")

    # A server binds every interface by design; `make dev` binds 127.0.0.1 alone.
    host: str = "0.0.0.0"  # noqa: S104  # nosec B104
    port: int = 8000
    web_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1)
    # The proxies whose X-Forwarded-* headers are trusted.
    forwarded_allow_ips: str = "127.0.0.1"


class Settings(BaseSettings):
    """Everything the app reads, checked once at start-up."""

    model_config = _config("")

    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    supabase: SupabaseSettings = Field(default_factory=SupabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    def cursor_key(self) -> str:
        """What signs pagination cursors: QUIRE_CURSOR_SECRET, else SUPABASE_JWT_SECRET."""
        own = self.app.cursor_secret
        return own.get_secret_value() if own else self.supabase.jwt_secret.get_secret_value()

    @model_validator(mode="after")
    def refuse_an_unsafe_supabase_url(self) -> "Settings":
        if self.supabase.url and not _fetched_safely(self.supabase.url):
            raise ValueError(
                "SUPABASE_URL must be https:// (plain http only to this machine): the token "
                "signing keys are fetched from it, and anyone on the way could replace them"
            )
        if self.supabase.url and not _bare_project_url(self.supabase.url):
            # The dashboard shows the REST endpoint too (…/rest/v1/): pasted, it would make the
            # issuer …/rest/v1/auth/v1, and every token would then be refused.
            raise ValueError(
                "SUPABASE_URL must be the project's URL alone, like https://<ref>.supabase.co, "
                "without a path, query or fragment"
            )
        return self

    @model_validator(mode="after")
    def refuse_what_production_cannot_run_with(self) -> "Settings":
        if self.app.environment != "production":
            return self
        if self.supabase.hs256_secret == LOCAL_JWT_SECRET:
            raise ValueError(
                "SUPABASE_JWT_SECRET is the local development placeholder; set the project's "
                "JWT secret, or SUPABASE_URL to verify tokens with the project's signing keys, "
                "before running in production"
            )
        if self.cursor_key() == LOCAL_JWT_SECRET:
            raise ValueError(
                "Pagination cursors would be signed with the local development placeholder; "
                "set QUIRE_CURSOR_SECRET (or SUPABASE_JWT_SECRET) before running in production"
            )
        if not self.database.url:
            raise ValueError("DATABASE_URL must be set in production")
        return self


def unread_env_file_names(path: Path = Path(ENV_FILE)) -> dict[str, str]:
    """Names in `.env` that Quire does not read but nearly does (`DATABSE_URL`), with the one
    meant: a mistyped name is ignored, and its value silently replaced by a default."""
    known = setting_names()
    written = dotenv_values(path) if path.is_file() else {}
    meant = {
        name: difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.85) for name in written
    }
    return {name: close[0] for name, close in meant.items() if close and name.upper() not in known}


def unread_env_file_warnings() -> list[str]:
    """A warning for each name in `.env` that Quire does not read but nearly does."""
    return [
        f"quire: .env sets {name}, which Quire does not read; did you mean {meant}?"
        for name, meant in unread_env_file_names().items()
    ]


# The settings, one class per concern, each read from variables under its prefix.
SETTING_GROUPS: tuple[type[BaseSettings], ...] = (
    AppSettings,
    DatabaseSettings,
    SupabaseSettings,
    ServerSettings,
)


def setting_names() -> list[str]:
    """Every environment variable the settings read."""
    return [_variable_of(group, field) for group in SETTING_GROUPS for field in group.model_fields]


def _variable_of(group: type[BaseSettings], field: str) -> str:
    return f"{group.model_config.get('env_prefix', '')}{field}".upper()


def settings_problems(error: ValidationError | SettingsError) -> str:
    """What is wrong in the settings, a line each, without the values given."""
    if isinstance(error, SettingsError):
        return _unparsed_value(error)
    # Input values stay out of the message: they may be secrets or passwords.
    details = error.errors(include_url=False, include_input=False, include_context=False)
    return "\n".join(f"  {_variable(error.title, d['loc'])}: {d['msg']}" for d in details)


def _unparsed_value(error: SettingsError) -> str:
    """pydantic-settings reads a list or a mapping as JSON, and names only the field of a value
    that is not JSON (`error parsing value for field "cors_origins"`)."""
    found = re.search(r'field "(\w+)"', str(error))
    field = found[1] if found else ""
    names = [_variable_of(group, field) for group in SETTING_GROUPS if field in group.model_fields]
    return f'  {" or ".join(names) or field}: expected JSON, such as ["https://a.example"]'


def _variable(group: str, location: tuple[int | str, ...]) -> str:
    """The environment variable a setting is read from (`DATABASE_POOL_SIZE`), as users
    wrote it, rather than the class and field that hold it."""
    held_by = next((cls for cls in SETTING_GROUPS if cls.__name__ == group), None)
    if held_by is not None and location:
        return _variable_of(held_by, str(location[0]))
    return ".".join(map(str, (group, *location)))


def _bare_project_url(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.hostname) and parts.path in {"", "/"} and not (parts.query or parts.fragment)


def _fetched_safely(url: str) -> bool:
    """https, or plain http to this machine (a local Supabase stack)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or parts.hostname in {"127.0.0.1", "localhost", "::1"}


FORGEABLE_TOKENS_REFUSAL = (
    "SUPABASE_JWT_SECRET is the placeholder published in Quire's repository and SUPABASE_URL "
    "is unset, so anyone could sign a token this server accepts. Set SUPABASE_JWT_SECRET to the "
    "project's JWT secret or SUPABASE_URL to the project's URL, or set QUIRE_ENVIRONMENT=local "
    "to serve for development only."
)


def accepts_forged_tokens(settings: Settings) -> bool:
    """Whether anyone could sign a token the app would accept, without development chosen.

    Settings refuse the published placeholder secret only when QUIRE_ENVIRONMENT=production,
    which defaults to `local`: an app deployed without configuration would let anyone sign in
    as anyone. So only `local` or `test` set on purpose (environment, .env or code) serve with
    it.
    """
    if settings.supabase.hs256_secret != LOCAL_JWT_SECRET:
        return False
    app = settings.app
    chosen = "environment" in app.model_fields_set and app.environment in {"local", "test"}
    return not chosen


@lru_cache
def get_settings() -> Settings:
    return Settings()
