"""`make doctor`: its database checks against the test database (and fresh ones), its HTTP
checks against a loopback stand-in of a Supabase project's Auth JWKS and Storage API."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
import pytest
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from pydantic import SecretStr
from sqlalchemy import text

from api import doctor
from api.settings import (
    LOCAL_JWT_SECRET,
    DatabaseSettings,
    ServerSettings,
    Settings,
    SupabaseSettings,
    get_settings,
)
from db import migrate
from db.embedded import free_port
from db.engine import create_engine
from db.url import PoolMode
from tests.conftest import POOL_MODE
from tests.support import LoopbackServer, recreate_database

PROJECT_SECRET = "a-legacy-project-jwt-secret-of-at-least-32-characters"
SERVICE_ROLE_KEY = "service-role-key-of-the-project-stand-in"


class SupabaseProjectStandIn(LoopbackServer):
    """A stand-in for a Supabase project's HTTP services, over real HTTP on 127.0.0.1: the
    Auth JWKS and Storage's bucket lookup. Tests set `keys` and `buckets` to what it serves."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.buckets: dict[str, dict[str, object]] = {}
        self.jwks_status = 200
        self.storage_headers: dict[str, str] = {}
        super().__init__(self._handler())

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, object]:
        if path == "/auth/v1/.well-known/jwks.json":
            return self.jwks_status, {"keys": self.keys}
        bucket = path.removeprefix("/storage/v1/bucket/")
        self.storage_headers = headers
        if bucket in self.buckets:
            return 200, bucket_json(bucket, **self.buckets[bucket])
        return 400, {"statusCode": "404", "error": "Bucket not found", "message": "not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, body = stand_in.answer(self.path, headers)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# The bucket as supabase/config.toml declares it.
AVATARS = {"public": True, "file_size_limit": 2097152,
           "allowed_mime_types": ["image/png", "image/jpeg", "image/webp"]}  # fmt: skip


def bucket_json(name: str, **settings: object) -> dict[str, object]:
    return {
        "id": name, "name": name, "owner": "",
        "created_at": "2026-11-23T03:00:00Z", "updated_at": "2026-11-23T03:00:00Z",
        **AVATARS, **settings,
    }  # fmt: skip


def es256_jwk(kid: str) -> dict[str, Any]:
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**ECAlgorithm.to_jwk(public_key, as_dict=True), "kid": kid, "alg": "ES256",
            "use": "sig"}  # fmt: skip


@pytest.fixture
def project() -> Iterator[SupabaseProjectStandIn]:
    with SupabaseProjectStandIn() as stand_in:
        yield stand_in


def settings_for(
    database_url: str | None = None,
    *,
    pool_mode: PoolMode | None = None,
    direct_url: str | None = None,
    supabase_url: str | None = None,
    secret: str = LOCAL_JWT_SECRET,
    service_role_key: str | None = None,
    pool_size: int = 1,
) -> Settings:
    """Every setting the checks read, explicit: nothing comes from the environment or `.env`.

    One connection, one worker: the database the tests share has others open besides."""
    return Settings(
        database=DatabaseSettings(
            url=database_url, direct_url=direct_url, pool_mode=pool_mode, pool_size=pool_size
        ),
        server=ServerSettings(web_concurrency=1),
        supabase=SupabaseSettings(
            url=supabase_url,
            jwt_secret=SecretStr(secret),
            service_role_key=SecretStr(service_role_key) if service_role_key else None,
        ),
    )


@pytest.fixture(scope="module")
async def behind_url(direct_url: str) -> str:
    """A database one migration behind head: no RLS yet."""
    url = await recreate_database(direct_url, "doctor_behind")
    await asyncio.to_thread(migrate.upgrade, url, "0001")
    return url


# --- database checks ---------------------------------------------------------------------


async def test_a_migrated_database_passes(database_url: str, direct_url: str) -> None:
    settings = settings_for(database_url, pool_mode=POOL_MODE, direct_url=direct_url)
    database = await doctor.check_database(settings)
    assert database.status == "ok"
    assert ("transaction pooler" if POOL_MODE else "session mode") in database.detail
    assert (await doctor.check_migrations(settings)).status == "ok"
    rls = await doctor.check_rls(settings)
    assert rls.status == "ok"
    assert "all 6 tables" in rls.detail


@pytest.mark.parametrize(("role", "invoker"), [("anon", "true"), ("authenticated", "on")])
async def test_a_view_the_data_api_may_read_past_rls_fails(
    database_url: str, role: str, invoker: str
) -> None:
    """A view runs as its owner: readable by anon, or by every signed-in account, it would
    hand out every email. `security_invoker = on` is as good as `true`."""
    settings = settings_for(database_url, pool_mode=POOL_MODE)
    engine = create_engine(database_url, pool_mode=POOL_MODE)
    view = f"doctor_emails_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"CREATE VIEW {view} AS SELECT email FROM users"))
            await connection.execute(text(f"GRANT SELECT ON {view} TO {role}"))
        rls = await doctor.check_rls(settings)
        assert rls.status == "fail"
        assert view in rls.detail
        async with engine.begin() as connection:
            await connection.execute(text(f"ALTER VIEW {view} SET (security_invoker = {invoker})"))
        assert (await doctor.check_rls(settings)).status == "ok"
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP VIEW IF EXISTS {view}"))
        await engine.dispose()


@pytest.mark.parametrize(
    ("pool_size", "workers"), [(100_000, 1), (1, 100_000)], ids=["one big pool", "many workers"]
)
async def test_more_connections_than_the_database_takes_is_a_warning(
    database_url: str, direct_url: str, pool_size: int, workers: int
) -> None:
    """Every worker holds a pool (WEB_CONCURRENCY of them): their connections add up."""
    settings = settings_for(
        database_url, pool_mode=POOL_MODE, direct_url=direct_url, pool_size=pool_size
    )
    settings = settings.model_copy(update={"server": ServerSettings(web_concurrency=workers)})
    crowded = await doctor.check_database(settings)
    if POOL_MODE == "transaction":
        assert crowded.status == "ok"  # the pooler's business
    else:
        assert crowded.status == "warn"
        assert "up to 100000 connections" in crowded.detail


async def test_the_transaction_pooler_needs_a_direct_url_for_migrations(
    database_url: str, direct_url: str
) -> None:
    pooled = await doctor.check_database(settings_for(database_url, pool_mode="transaction"))
    assert pooled.status == "warn"
    assert "transaction pooler" in pooled.detail
    assert "DATABASE_DIRECT_URL" in pooled.detail
    with_direct = settings_for(database_url, pool_mode="transaction", direct_url=direct_url)
    assert (await doctor.check_database(with_direct)).status == "ok"
    assert (await doctor.check_migrations(with_direct)).status == "ok"


async def test_a_direct_url_on_the_transaction_pooler_fails(database_url: str) -> None:
    pooler = "postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
    outcome = await doctor.check_migrations(settings_for(database_url, direct_url=pooler))
    assert outcome.status == "fail"
    assert "port 6543" in outcome.detail


async def test_a_database_behind_head_fails_migrations_and_rls(behind_url: str) -> None:
    settings = settings_for(behind_url)
    migrations = await doctor.check_migrations(settings)
    assert migrations.status == "fail"
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert f"at 0001, head is {head}" in migrations.detail
    rls = await doctor.check_rls(settings)
    assert rls.status == "fail"
    assert "posts" in rls.detail
    assert "users" in rls.detail


async def test_an_empty_database_has_no_migrations(direct_url: str) -> None:
    url = await recreate_database(direct_url, "doctor_empty")
    outcome = await doctor.check_migrations(settings_for(url))
    assert outcome == doctor.Outcome("fail", "no migrations applied: run `make migrate`")


async def test_an_unreachable_database_fails_without_a_traceback(capsys: Any) -> None:
    settings = settings_for(f"postgresql://postgres:secret-pw@127.0.0.1:{free_port()}/quire")
    assert await doctor.diagnose(settings) == 1
    output = capsys.readouterr().out
    assert "database    fail:" in output
    assert "secret-pw" not in output


async def test_database_checks_skip_without_database_url() -> None:
    for check in (doctor.check_database, doctor.check_migrations, doctor.check_rls):
        outcome = await check(settings_for())
        assert outcome.status == "skipped"
        assert outcome.detail.startswith("DATABASE_URL not set")


# --- auth keys --------------------------------------------------------------------------


async def test_jwks_with_an_es256_key_passes(project: SupabaseProjectStandIn) -> None:
    project.keys = [es256_jwk("key-1")]
    outcome = await doctor.check_auth_keys(settings_for(supabase_url=project.url))
    assert outcome == doctor.Outcome("ok", "JWKS: 1 signing key(s) (ES256)")


async def test_a_legacy_project_verifies_with_its_secret(project: SupabaseProjectStandIn) -> None:
    settings = settings_for(supabase_url=project.url, secret=PROJECT_SECRET)
    outcome = await doctor.check_auth_keys(settings)
    assert outcome.status == "ok"
    assert "HS256" in outcome.detail
    project.jwks_status = 503
    assert (await doctor.check_auth_keys(settings)).status == "warn"


async def test_no_usable_key_fails(project: SupabaseProjectStandIn) -> None:
    settings = settings_for(supabase_url=project.url)
    assert (await doctor.check_auth_keys(settings)).status == "fail"
    project.jwks_status = 503
    outcome = await doctor.check_auth_keys(settings)
    assert outcome.status == "fail"
    assert "JWKS unusable" in outcome.detail


def legacy_service_role_key(secret: str) -> str:
    """A legacy service_role API key, as Supabase signs it with the project's JWT secret."""
    claims = {"iss": "supabase", "ref": "abc", "role": "service_role", "iat": 1, "exp": 2**31}
    return jwt.encode(claims, secret, "HS256")


async def test_a_jwt_secret_that_did_not_sign_the_projects_keys_fails() -> None:
    mistyped = settings_for(
        secret=PROJECT_SECRET + "x", service_role_key=legacy_service_role_key(PROJECT_SECRET)
    )
    outcome = await doctor.check_auth_keys(mistyped)
    assert outcome.status == "fail"
    assert "not this project's JWT secret" in outcome.detail
    right = settings_for(
        secret=PROJECT_SECRET, service_role_key=legacy_service_role_key(PROJECT_SECRET)
    )
    assert (await doctor.check_auth_keys(right)).status == "ok"
    new_style = settings_for(secret=PROJECT_SECRET, service_role_key="sb_secret_abc123")
    assert (await doctor.check_auth_keys(new_style)).status == "ok"


async def test_auth_keys_without_supabase_url() -> None:
    skipped = await doctor.check_auth_keys(settings_for())
    assert skipped.status == "skipped"
    assert skipped.detail.startswith("SUPABASE_URL not set")
    assert (await doctor.check_auth_keys(settings_for(secret=PROJECT_SECRET))).status == "ok"


# --- storage ----------------------------------------------------------------------------


async def test_a_public_avatars_bucket_passes(project: SupabaseProjectStandIn) -> None:
    project.buckets = {"avatars": {}}
    settings = settings_for(supabase_url=project.url, service_role_key=SERVICE_ROLE_KEY)
    outcome = await doctor.check_storage(settings)
    assert outcome == doctor.Outcome("ok", "bucket 'avatars' is present and public")
    assert project.storage_headers["apikey"] == SERVICE_ROLE_KEY


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"public": False}, "private"),
        ({"file_size_limit": 1048576}, "file size limit (1048576)"),
        ({"allowed_mime_types": ["image/png", "image/jpeg"]}, "does not allow image/webp"),
    ],
    ids=["private", "too small", "no webp"],
)
async def test_a_bucket_that_would_refuse_avatars_fails(
    project: SupabaseProjectStandIn, settings: dict[str, object], problem: str
) -> None:
    project.buckets = {"avatars": settings}
    outcome = await doctor.check_storage(
        settings_for(supabase_url=project.url, service_role_key=SERVICE_ROLE_KEY)
    )
    assert outcome.status == "fail"
    assert problem in outcome.detail


@pytest.mark.parametrize("allowed", [None, ["image/*"]], ids=["any type", "image/*"])
async def test_types_allowed_by_pattern_and_no_limit_pass(
    project: SupabaseProjectStandIn, allowed: list[str] | None
) -> None:
    project.buckets = {"avatars": {"file_size_limit": None, "allowed_mime_types": allowed}}
    outcome = await doctor.check_storage(
        settings_for(supabase_url=project.url, service_role_key=SERVICE_ROLE_KEY)
    )
    assert outcome.status == "ok"


async def test_a_missing_bucket_fails(project: SupabaseProjectStandIn) -> None:
    settings = settings_for(supabase_url=project.url, service_role_key=SERVICE_ROLE_KEY)
    project.buckets = {}
    missing = await doctor.check_storage(settings)
    assert missing.status == "fail"
    assert "no bucket 'avatars'" in missing.detail


@pytest.mark.parametrize(
    ("key", "named"),
    [
        (jwt.encode({"role": "anon", "iss": "supabase"}, PROJECT_SECRET), "the anon key"),
        ("sb_publishable_abc123", "a publishable key"),
    ],
    ids=["legacy anon", "publishable"],
)
async def test_a_key_that_is_not_the_service_key_is_named(
    project: SupabaseProjectStandIn, key: str, named: str
) -> None:
    """Storage would answer it as if the bucket were missing: RLS hides buckets from it."""
    outcome = await doctor.check_storage(
        settings_for(supabase_url=project.url, service_role_key=key)
    )
    assert outcome == doctor.Outcome(
        "fail", f"SUPABASE_SERVICE_ROLE_KEY is {named}, not the service_role key"
    )
    assert project.storage_headers == {}, "Storage is not asked"


async def test_a_service_key_of_either_kind_is_used(project: SupabaseProjectStandIn) -> None:
    project.buckets = {"avatars": {}}
    legacy = jwt.encode({"role": "service_role", "iss": "supabase"}, PROJECT_SECRET)
    for key in (legacy, "sb_secret_abc123"):
        outcome = await doctor.check_storage(
            settings_for(supabase_url=project.url, service_role_key=key)
        )
        assert outcome.status == "ok", (key, outcome)


async def test_storage_is_skipped_without_its_configuration(
    project: SupabaseProjectStandIn,
) -> None:
    no_url = await doctor.check_storage(settings_for())
    assert no_url.status == "skipped"
    assert no_url.detail.startswith("SUPABASE_URL not set")
    no_key = await doctor.check_storage(settings_for(supabase_url=project.url))
    assert no_key.status == "skipped"
    assert no_key.detail.startswith("SUPABASE_SERVICE_ROLE_KEY not set")


# --- the whole run ------------------------------------------------------------------------


async def test_a_ready_project_exits_zero(
    database_url: str, direct_url: str, project: SupabaseProjectStandIn, capsys: Any
) -> None:
    project.keys = [es256_jwk("key-1")]
    project.buckets = {"avatars": {}}
    settings = settings_for(
        database_url,
        pool_mode=POOL_MODE,
        direct_url=direct_url,
        supabase_url=project.url,
        service_role_key=SERVICE_ROLE_KEY,
    )
    assert await doctor.diagnose(settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "project", "database", "migrations", "rls", "auth", "storage",
    ]  # fmt: skip
    # The stand-ins are on loopback: no setting names a Supabase project.
    assert lines[0].startswith("project     skipped")
    assert all(" ok: " in line for line in lines[1:])
    assert SERVICE_ROLE_KEY not in "\n".join(lines)


POOLER = "postgresql://postgres.{}:pw@aws-0-eu-west-1.pooler.supabase.com:{}/postgres"


@pytest.mark.parametrize(
    ("database_url", "direct_url", "supabase_url", "outcome"),
    [
        (
            POOLER.format("abcd", 6543),
            "postgresql://postgres:pw@db.abcd.supabase.co:5432/postgres",
            "https://abcd.supabase.co",
            doctor.Outcome(
                "ok", "DATABASE_URL, DATABASE_DIRECT_URL, SUPABASE_URL all name project abcd"
            ),
        ),
        (
            POOLER.format("prod", 6543),
            POOLER.format("prod", 5432),
            "https://staging.supabase.co",
            doctor.Outcome(
                "fail",
                "the settings name different projects: DATABASE_URL prod, "
                "DATABASE_DIRECT_URL prod, SUPABASE_URL staging",
            ),
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/quire",
            None,
            "https://abcd.supabase.co",
            doctor.Outcome("skipped", "fewer than two settings name a Supabase project"),
        ),
    ],
    ids=["one project", "two projects", "one named"],
)
async def test_the_settings_name_one_project(
    database_url: str, direct_url: str | None, supabase_url: str, outcome: doctor.Outcome
) -> None:
    """Staging's database with production's Auth would verify one project's tokens against
    the other's users."""
    settings = settings_for(database_url, direct_url=direct_url, supabase_url=supabase_url)
    assert await doctor.check_project(settings) == outcome


async def test_skipped_checks_say_why(capsys: Any) -> None:
    assert await doctor.diagnose(settings_for()) == 0
    assert "storage     skipped (SUPABASE_URL not set" in capsys.readouterr().out


def test_invalid_settings_fail_without_echoing_their_values(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The values given may be secrets: the CLI leaves them out, and so does the doctor."""
    monkeypatch.setenv("SUPABASE_URL", "https://abc.supabase.co/rest/v1/?key=secret-value")
    get_settings.cache_clear()
    try:
        assert doctor.main() == 1
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "settings" in out
    assert "the project's URL alone" in out
    assert "secret-value" not in out


async def test_behind_a_transaction_pooler_the_servers_limit_is_not_ours(
    database_url: str, direct_url: str
) -> None:
    settings = settings_for(
        database_url, pool_mode="transaction", direct_url=direct_url, pool_size=100_000
    )
    assert (await doctor.check_database(settings)).status == "ok"


async def test_migrations_are_read_where_they_run(
    behind_url: str, database_url: str, direct_url: str
) -> None:
    """DATABASE_DIRECT_URL is where `make migrate` goes: its revision is the one that counts."""
    settings = settings_for(behind_url, direct_url=direct_url)
    assert (await doctor.check_migrations(settings)).status == "ok"


async def test_a_partitioned_table_without_rls_fails(database_url: str) -> None:
    """The Data API reads the partitioned table, not its partitions: RLS on them is not enough."""
    settings = settings_for(database_url, pool_mode=POOL_MODE)
    engine = create_engine(database_url, pool_mode=POOL_MODE)
    table = f"doctor_events_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"CREATE TABLE {table} (at date) PARTITION BY RANGE (at)")
            )
            await connection.execute(text(f"CREATE TABLE {table}_all PARTITION OF {table} DEFAULT"))
            await connection.execute(text(f"ALTER TABLE {table}_all ENABLE ROW LEVEL SECURITY"))
        rls = await doctor.check_rls(settings)
        assert rls.status == "fail"
        assert f"RLS disabled on {table}:" in rls.detail
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


async def test_a_signing_key_without_a_use_passes(project: SupabaseProjectStandIn) -> None:
    """`use` is optional in a JWK, and the app verifies tokens with such a key."""
    key = es256_jwk("key-1")
    del key["use"]
    project.keys = [key]
    outcome = await doctor.check_auth_keys(settings_for(supabase_url=project.url))
    assert outcome == doctor.Outcome("ok", "JWKS: 1 signing key(s) (ES256)")
