"""Preflight for a deployment: `python -m api.doctor` (`make doctor`).

Checks what the configured project needs, each reported as ok, warn, fail or skipped with
its reason: one project named throughout, the database (reachable, pool mode, room for the
pools), migrations (at head), Row Level Security
(every public table), token verification (JWKS or JWT secret) and the avatars bucket. The
exit status is 1 when any check fails. Secrets are never printed.
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import jwt
from alembic.script import ScriptDirectory
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from storage3 import SyncBucket
from storage3.exceptions import StorageApiError
from storage3.utils import StorageException
from supabase import ClientOptions, create_client

from api.auth import ASYMMETRIC_ALGORITHMS
from api.settings import (
    LOCAL_JWT_SECRET,
    Settings,
    get_settings,
    settings_problems,
    unread_env_file_warnings,
)
from api.storage import AVATAR_MEDIA_TYPES, MAX_AVATAR_BYTES
from db.engine import create_engine
from db.migrate import alembic_config
from db.url import DatabaseTarget, PoolMode, parse_database_url

Status = Literal["ok", "warn", "fail", "skipped"]
HTTP_TIMEOUT_SECONDS = 10
# Supabase's API keys: `sb_publishable_…` for browsers, `sb_secret_…` for servers; legacy keys
# are JWTs naming their role.
PUBLISHABLE_KEY_PREFIX = "sb_publishable_"
SECRET_KEY_PREFIX = "sb_secret_"  # noqa: S105  # nosec B105  # a prefix, not a secret

# The connections still open to clients like Quire: the limit, less those reserved for
# superusers and roles, less those open now (Supabase's own services hold some).
SERVER_FACTS = """
SELECT current_setting('server_version'),
       current_setting('max_connections')::int
       - current_setting('superuser_reserved_connections')::int
       - coalesce(current_setting('reserved_connections', true)::int, 0)
       - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int
"""
UNPROTECTED_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
ORDER BY c.relname
"""
# Views run as their owner unless `security_invoker` is set, so they read past RLS; materialized
# views and foreign tables have none. Any that the Data API's roles may read is exposed.
READABLE_PAST_RLS = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm', 'f')
  AND NOT (c.relkind = 'v' AND EXISTS (
      SELECT 1 FROM unnest(c.reloptions) AS option
      WHERE option ~* '^security_invoker=(true|on|yes|1)$'))
  AND EXISTS (
      SELECT 1 FROM pg_roles r
      WHERE r.rolname IN ('anon', 'authenticated') AND has_table_privilege(r.oid, c.oid, 'SELECT'))
ORDER BY c.relname
"""
PUBLIC_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str


Check = Callable[[Settings], Awaitable[Outcome]]


async def check_database(settings: Settings) -> Outcome:
    """The database answers, and how Quire talks to it (session or transaction pooling)."""
    if not settings.database.url:
        return Outcome("skipped", "DATABASE_URL not set; `make dev` uses the embedded database")
    target = parse_database_url(settings.database.url, pool_mode=settings.database.pool_mode)
    rows = await _query(settings.database.url, target.pool_mode, SERVER_FACTS)
    version, open_to_clients = rows[0]
    found = f"PostgreSQL {version} at {target.redacted()}, {_pool_mode(target)}"
    if target.is_transaction_pooler and not settings.database.direct_url:
        return Outcome("warn", f"{found}; set DATABASE_DIRECT_URL (port 5432) for migrations")
    wanted = _connections_wanted(settings)
    # Behind a transaction pooler, the server's limit is the pooler's business, not ours.
    if not target.is_transaction_pooler and wanted > open_to_clients:
        return Outcome(
            "warn",
            f"{found}; a server would hold up to {wanted} connections (DATABASE_POOL_SIZE + "
            f"DATABASE_MAX_OVERFLOW, times WEB_CONCURRENCY), and the database takes "
            f"{open_to_clients} more: lower them, or use the transaction pooler",
        )
    return Outcome("ok", found)


def _connections_wanted(settings: Settings) -> int:
    database = settings.database
    return (database.pool_size + database.max_overflow) * settings.server.web_concurrency


def _pool_mode(target: DatabaseTarget) -> str:
    if target.is_transaction_pooler:
        return "transaction pooler (statement caches off, unnamed statements)"
    if ".pooler.supabase.com" in (target.url.host or ""):
        return "session pooler"
    return "session mode"


async def check_migrations(settings: Settings) -> Outcome:
    """The database is at the newest Alembic revision, read where migrations would run."""
    if not settings.database.url:
        return Outcome("skipped", "DATABASE_URL not set")
    direct = settings.database.direct_url
    if direct and parse_database_url(direct).is_transaction_pooler:
        return Outcome(
            "fail",
            "DATABASE_DIRECT_URL is the transaction pooler (port 6543): use the direct or "
            "session-pooler connection string (port 5432)",
        )
    url, pool_mode = (
        (direct, None) if direct else (settings.database.url, settings.database.pool_mode)
    )
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    try:
        rows = await _query(url, pool_mode, "SELECT version_num FROM alembic_version")
    except ProgrammingError:
        return Outcome("fail", "no migrations applied: run `make migrate`")
    current = {row[0] for row in rows}
    if current == heads:
        return Outcome("ok", f"at head {_revisions(heads)}")
    return Outcome(
        "fail", f"at {_revisions(current)}, head is {_revisions(heads)}: run `make migrate`"
    )


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "no revision"


async def check_rls(settings: Settings) -> Outcome:
    """Every table in `public` has Row Level Security, as Supabase's Data API requires, and no
    view there lets the Data API read past it."""
    if not settings.database.url:
        return Outcome("skipped", "DATABASE_URL not set")
    unprotected_rows, exposed_rows, counted = await _queries(
        settings.database.url,
        settings.database.pool_mode,
        UNPROTECTED_TABLES,
        READABLE_PAST_RLS,
        PUBLIC_TABLES,
    )
    if unprotected := [row[0] for row in unprotected_rows]:
        return Outcome(
            "fail",
            f"RLS disabled on {', '.join(unprotected)}: anyone holding the anon key can use "
            "them through the Data API",
        )
    if exposed := [row[0] for row in exposed_rows]:
        return Outcome(
            "fail",
            f"{', '.join(exposed)} can be read through the Data API past Row Level Security: "
            "set security_invoker = true on a view, or revoke anon's and authenticated's "
            "privilege to read it",
        )
    return Outcome("ok", f"enabled on all {counted[0][0]} tables in public")


async def _query(url: str, pool_mode: PoolMode | None, sql: str) -> Sequence[Any]:
    [rows] = await _queries(url, pool_mode, sql)
    return rows


async def _queries(url: str, pool_mode: PoolMode | None, *statements: str) -> list[Sequence[Any]]:
    """Each statement's rows, read over one connection."""
    engine = create_engine(url, pool_mode=pool_mode, use_pool=False)
    try:
        async with engine.connect() as connection:
            return [(await connection.execute(text(sql))).all() for sql in statements]
    finally:
        await engine.dispose()


async def check_auth_keys(settings: Settings) -> Outcome:
    """Supabase Auth's tokens can be verified: the project's JWKS, or its JWT secret."""
    supabase = settings.supabase
    secret = supabase.jwt_secret.get_secret_value()
    has_secret = bool(secret) and secret != LOCAL_JWT_SECRET
    if has_secret and _signs_another_key(secret, supabase.service_role_key):
        return Outcome(
            "fail",
            "SUPABASE_JWT_SECRET did not sign the project's legacy service_role key: it is "
            "not this project's JWT secret, and its HS256 tokens would all be refused",
        )
    if not supabase.jwks_url:
        if has_secret:
            return Outcome("ok", "HS256 with SUPABASE_JWT_SECRET (set SUPABASE_URL for JWKS)")
        return Outcome("skipped", "SUPABASE_URL not set; tokens verify with the local secret")
    try:
        algorithms = await asyncio.to_thread(_signing_algorithms, supabase.jwks_url)
    except (jwt.PyJWTError, ValueError) as error:
        if has_secret:
            return Outcome("warn", f"JWKS unusable ({error}); only HS256 tokens will verify")
        return Outcome("fail", f"JWKS unusable ({error}) and SUPABASE_JWT_SECRET not set")
    if algorithms:
        found = f"JWKS: {len(algorithms)} signing key(s) ({', '.join(sorted(set(algorithms)))})"
        legacy = ", and HS256 with SUPABASE_JWT_SECRET (unset it once the project revokes it)"
        return Outcome("ok", found + (legacy if has_secret else ""))
    if has_secret:
        return Outcome("ok", "HS256 with SUPABASE_JWT_SECRET (the JWKS lists no ES256/RS256 key)")
    return Outcome("fail", "the JWKS lists no ES256/RS256 key and SUPABASE_JWT_SECRET is not set")


def _signs_another_key(secret: str, service_role_key: SecretStr | None) -> bool:
    """Whether the project's legacy service_role key (a JWT signed with the project's JWT
    secret) shows that `secret` is not that secret. A new-style key (`sb_secret_…`) says
    nothing either way."""
    key = service_role_key.get_secret_value() if service_role_key else ""
    if not key.startswith("eyJ"):
        return False
    try:
        jwt.decode(key, secret, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.InvalidSignatureError:
        return True
    except jwt.PyJWTError:
        pass  # expired or malformed: it tells nothing about the secret
    return False


def _signing_algorithms(jwks_url: str) -> list[str]:
    """The algorithms of the JWKS's usable ES256/RS256 signing keys (none for legacy projects)."""
    client = jwt.PyJWKClient(jwks_url, cache_jwk_set=False, timeout=HTTP_TIMEOUT_SECONDS)
    data = client.fetch_data()
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("the response is not a JWKS")
    try:
        keys = jwt.PyJWKSet.from_dict(data).keys if data["keys"] else []
    except jwt.PyJWKSetError:  # no key PyJWT can use
        keys = []
    return [
        str(key.algorithm_name)
        for key in keys
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS and key.public_key_use in {"sig", None}
    ]


async def check_storage(settings: Settings) -> Outcome:
    """The avatars bucket exists in Supabase Storage and serves public URLs."""
    supabase = settings.supabase
    if not supabase.url:
        return Outcome("skipped", "SUPABASE_URL not set; avatars are stored in QUIRE_MEDIA_DIR")
    if supabase.service_role_key is None:
        return Outcome("skipped", "SUPABASE_SERVICE_ROLE_KEY not set; avatars are stored locally")
    key = supabase.service_role_key.get_secret_value()
    if mistaken := _not_a_service_key(key):
        return Outcome("fail", f"SUPABASE_SERVICE_ROLE_KEY is {mistaken}, not the service_role key")
    name = supabase.avatars_bucket
    try:
        bucket = await asyncio.to_thread(_bucket, supabase.url, key, name)
    except StorageApiError as error:
        if str(error.status) == "404":
            return Outcome(
                "fail", f"no bucket {name!r}: create it, public (see supabase/config.toml)"
            )
        return Outcome("fail", f"Storage refused the request: {error.message}")
    except (StorageException, httpx.HTTPError) as error:
        return Outcome("fail", f"Storage unreachable at {supabase.url}: {error}")
    if problems := _bucket_problems(bucket):
        return Outcome("fail", f"bucket {name!r}: {'; '.join(problems)}")
    return Outcome("ok", f"bucket {name!r} is present and public")


def _not_a_service_key(key: str) -> str | None:
    """What the key is instead, when it is plainly not a service key: a publishable key, or a
    legacy key (a JWT) whose role is another. Storage would answer those as if the bucket
    were missing, since Row Level Security hides it from them."""
    if key.startswith(PUBLISHABLE_KEY_PREFIX):
        return "a publishable key"
    if key.startswith(SECRET_KEY_PREFIX):
        return None
    try:
        role = jwt.decode(key, options={"verify_signature": False}).get("role")
    except jwt.PyJWTError:
        return None
    return f"the {role} key" if isinstance(role, str) and role != "service_role" else None


def _bucket(url: str, service_role_key: str, name: str) -> SyncBucket:
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as http:
        options = ClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http)
        client = create_client(url, service_role_key, options)
        return client.storage.get_bucket(name)


def _bucket_problems(bucket: SyncBucket) -> list[str]:
    """What in the bucket's settings would make avatar uploads or their URLs fail."""
    problems = []
    if not bucket.public:
        problems.append("it is private, so avatar URLs will not load")
    if bucket.file_size_limit is not None and int(bucket.file_size_limit) < MAX_AVATAR_BYTES:
        problems.append(
            f"its file size limit ({bucket.file_size_limit}) is below {MAX_AVATAR_BYTES} bytes"
        )
    # No list allows every type; Storage matches patterns such as `image/*`, as Supabase's own
    # avatars example uses.
    if allowed := bucket.allowed_mime_types:
        refused = [t for t in AVATAR_MEDIA_TYPES if not any(fnmatch(t, p) for p in allowed)]
        if refused:
            problems.append(f"it does not allow {', '.join(refused)}")
    return problems


async def check_project(settings: Settings) -> Outcome:
    """DATABASE_URL, DATABASE_DIRECT_URL and SUPABASE_URL name one Supabase project."""
    named = {
        name: ref
        for name, ref in (
            ("DATABASE_URL", _database_project(settings.database.url)),
            ("DATABASE_DIRECT_URL", _database_project(settings.database.direct_url)),
            ("SUPABASE_URL", _api_project(settings.supabase.url)),
        )
        if ref
    }
    if len(named) < 2:
        return Outcome("skipped", "fewer than two settings name a Supabase project")
    if len(set(named.values())) > 1:
        listed = ", ".join(f"{name} {ref}" for name, ref in named.items())
        return Outcome("fail", f"the settings name different projects: {listed}")
    return Outcome("ok", f"{', '.join(named)} all name project {next(iter(named.values()))}")


def _database_project(url: str | None) -> str | None:
    """The project a Supabase connection string names: `db.<ref>.supabase.co`, or the
    poolers' user `postgres.<ref>`."""
    if not url:
        return None
    target = parse_database_url(url).url
    host, user = target.host or "", target.username or ""
    if host.startswith("db.") and host.endswith(".supabase.co"):
        return host.removeprefix("db.").removesuffix(".supabase.co")
    if host.endswith(".pooler.supabase.com") and user.startswith("postgres."):
        return user.removeprefix("postgres.")
    return None


def _api_project(url: str | None) -> str | None:
    """The project `https://<ref>.supabase.co` names (a custom domain names none)."""
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removesuffix(".supabase.co") if host.endswith(".supabase.co") else None


CHECKS: tuple[tuple[str, Check], ...] = (
    ("project", check_project),
    ("database", check_database),
    ("migrations", check_migrations),
    ("rls", check_rls),
    ("auth keys", check_auth_keys),
    ("storage", check_storage),
)


async def run_checks(settings: Settings) -> list[tuple[str, Outcome]]:
    """Every check in turn; a check that breaks is a failure, never a traceback."""
    results = []
    for name, check in CHECKS:
        try:
            outcome = await check(settings)
        except Exception as error:  # a preflight reports what broke; it never crashes
            outcome = Outcome("fail", f"{type(error).__name__}: {error}")
        results.append((name, outcome))
    return results


def render(name: str, outcome: Outcome) -> str:
    if outcome.status == "skipped":
        return f"{name:<11} skipped ({outcome.detail})"
    return f"{name:<11} {outcome.status}: {outcome.detail}"


async def diagnose(settings: Settings) -> int:
    """Print every check's outcome; the exit status: 1 if any failed."""
    results = await run_checks(settings)
    for name, outcome in results:
        print(render(name, outcome))
    return 1 if any(outcome.status == "fail" for _, outcome in results) else 0


def main() -> int:
    for warning in unread_env_file_warnings():
        print(warning, file=sys.stderr)
    try:
        settings = get_settings()
    except (ValidationError, SettingsError) as error:
        print(
            render(
                "settings", Outcome("fail", f"invalid configuration\n{settings_problems(error)}")
            )
        )
        return 1
    return asyncio.run(diagnose(settings))


if __name__ == "__main__":
    sys.exit(main())
