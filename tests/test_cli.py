"""The command line behind `make token`, `make admin`, `make migrate` and `make serve`."""

import argparse
import asyncio
import os
import signal
import socket
import subprocess  # nosec B404  # runs this repository's own command line
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import uvicorn
from alembic.script import ScriptDirectory
from sqlalchemy import text

from api import cli, doctor
from api.main import create_app
from api.settings import (
    ENV_FILE,
    AppSettings,
    DatabaseSettings,
    ServerSettings,
    Settings,
    SupabaseSettings,
    get_settings,
    unread_env_file_names,
)
from db import migrate
from db.embedded import free_port
from db.engine import create_engine
from tests.support import TEST_JWT_SECRET, recreate_database

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ("QUIRE_", "SUPABASE_", "DATABASE_")
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/quire"


@pytest.fixture(scope="module")
async def cli_database(direct_url: str) -> str:
    url = await recreate_database(direct_url, "cli")
    await asyncio.to_thread(migrate.upgrade, url)
    return url


def settings_for(database_url: str, project_url: str | None = None) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url), supabase=SupabaseSettings(url=project_url)
    )


async def fetch(url: str, sql: str, **params: object) -> object:
    engine = create_engine(url, use_pool=False)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def run(command: str, settings: Settings, *args: str) -> None:
    parsed = cli.parser().parse_args([command, *args])
    await asyncio.to_thread(parsed.run, settings, parsed)


async def test_token_registers_the_account_and_prints_a_valid_token(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run("token", settings_for(cli_database), "cli@example.com")
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["email"] == "cli@example.com"
    assert claims["role"] == "authenticated"
    stored = await fetch(
        cli_database, "SELECT email FROM auth.users WHERE id = :id", id=claims["sub"]
    )
    assert stored == "cli@example.com"
    await run("token", settings_for(cli_database), "CLI@example.com")
    again = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert again["sub"] == claims["sub"]


async def test_token_carries_the_issuer_when_a_project_is_configured(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(cli_database, "https://abc.supabase.co")
    await run("token", settings, "issuer@example.com")
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["iss"] == "https://abc.supabase.co/auth/v1"


async def test_admin_promotes_the_user(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run("admin", settings_for(cli_database), "chief@example.com")
    assert "now an admin" in capsys.readouterr().out
    role = await fetch(cli_database, "SELECT role FROM users WHERE email = 'chief@example.com'")
    assert role == "admin"


async def test_token_refuses_to_register_accounts_on_supabase(direct_url: str) -> None:
    url = await recreate_database(direct_url, "cli_supabase")
    engine = create_engine(url, use_pool=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SCHEMA auth"))
        await connection.execute(
            text("CREATE TABLE auth.users (instance_id uuid, id uuid PRIMARY KEY, email text)")
        )
    await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, url)
    with pytest.raises(SystemExit, match="Supabase Auth"):
        await run("token", settings_for(url), "nobody@example.com")


async def test_migrations_refuse_a_transaction_pool_mode_without_a_direct_url() -> None:
    settings = Settings(
        database=DatabaseSettings(
            url="postgresql://u:p@pooler.example.com:5432/db", pool_mode="transaction"
        )
    )
    with pytest.raises(SystemExit, match="DATABASE_DIRECT_URL"), cli.migration_database(settings):
        pass


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        Settings.model_validate(
            {"app": {"environment": "production"}, "supabase": {"jwt_secret": "s" * 40}}
        )


def test_the_parser_knows_every_make_target() -> None:
    commands = cli.parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert isinstance(commands, dict)
    assert {"dev", "serve", "db", "db-stop", "psql", "migrate", "downgrade", "revision",
            "check", "token", "admin"} <= set(commands)  # fmt: skip
    assert isinstance(cli.parser().parse_args(["migrate"]), argparse.Namespace)


@pytest.fixture
def unconfigured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No Quire variable in the environment and an empty working directory (no .env)."""
    for name in list(os.environ):
        if name.startswith(CONFIGURATION):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def never_serve(*args: object, **kwargs: object) -> None:
    pytest.fail("serve started a server")


def test_serve_refuses_the_public_placeholder_secret_by_default(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    monkeypatch.setattr(uvicorn, "run", never_serve)
    with pytest.raises(SystemExit, match="QUIRE_ENVIRONMENT=local") as refusal:
        cli.main(["serve", "--workers", "1"])
    assert "SUPABASE_JWT_SECRET" in str(refusal.value.code)


def test_the_app_itself_refuses_the_public_placeholder_secret_by_default(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever starts it (uvicorn, gunicorn, `fastapi run`), not only `quire serve`."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    with pytest.raises(RuntimeError, match="QUIRE_ENVIRONMENT=local"):
        create_app(Settings())
    create_app(Settings(app=AppSettings(environment="local")))


@pytest.mark.parametrize("environment", ["local", "test"])
@pytest.mark.parametrize("source", ["variable", ".env"])
def test_serve_accepts_the_placeholder_when_development_is_chosen(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, source: str, environment: str
) -> None:
    if source == "variable":
        monkeypatch.setenv("QUIRE_ENVIRONMENT", environment)
    else:
        # The test harness turns `.env` off for every settings class; this test needs it.
        monkeypatch.setitem(AppSettings.model_config, "env_file", ENV_FILE)
        (unconfigured / ENV_FILE).write_text(f"QUIRE_ENVIRONMENT={environment}\n")
    cli.refuse_public_secret(Settings())


@pytest.mark.parametrize(
    "variable", [("SUPABASE_JWT_SECRET", "s" * 40), ("SUPABASE_URL", "https://abc.supabase.co")]
)
def test_serve_accepts_a_project_secret_or_signing_keys(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, variable: tuple[str, str]
) -> None:
    monkeypatch.setenv(*variable)
    cli.refuse_public_secret(Settings())


def test_production_with_the_placeholder_exits_with_the_reason(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    monkeypatch.setattr(uvicorn, "run", never_serve)
    with pytest.raises(
        SystemExit, match="SUPABASE_JWT_SECRET is the local development placeholder"
    ):
        cli.main(["serve", "--workers", "1"])


def test_an_invalid_setting_is_named_but_its_value_is_not_echoed(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_POOL_MODE", "hunter2")
    # By the variable the user set, not the class and field that hold it.
    with pytest.raises(SystemExit, match=r"\n  DATABASE_POOL_MODE: Input should be") as refusal:
        cli.main(["serve", "--workers", "1"])
    assert "hunter2" not in str(refusal.value.code)


@pytest.mark.parametrize("command", ["token", "admin"])
@pytest.mark.parametrize("email", ["notanemail", "ada@", "@example.com", "a b@x.io"])
def test_token_and_admin_want_an_email_address(
    command: str, email: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.parser().parse_args([command, email])
    assert "is not an email address" in capsys.readouterr().err


@pytest.mark.parametrize("posts", ["0", "-5", "abc"])
def test_seed_wants_a_number_of_posts(posts: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["seed", posts])
    assert "argument posts" in capsys.readouterr().err


def test_a_list_setting_not_written_as_json_is_named_by_its_variable(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pydantic-settings reads lists as JSON and named only the field: `cors_origins`."""
    monkeypatch.setenv("QUIRE_CORS_ORIGINS", "https://app.example")
    expected = "invalid configuration\n  QUIRE_CORS_ORIGINS: expected JSON"
    with pytest.raises(SystemExit, match=expected):
        cli.main(["serve", "--workers", "1"])
    # The preflight says the same, as a failed check rather than a traceback.
    assert doctor.main() == 1
    assert expected in capsys.readouterr().out


def test_make_serve_without_configuration_exits_with_a_message(unconfigured: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURATION)}
    environment |= {"DATABASE_URL": UNREACHABLE_DATABASE, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(free_port())]
    result = subprocess.run(  # noqa: S603  # nosec B603
        command, cwd=unconfigured, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "refusing to start" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_during_serve_unwinds_so_the_embedded_server_is_stopped(
    number: signal.Signals,
) -> None:
    """SIGHUP is what closing the terminal of `make dev` sends; it left PostgreSQL running."""
    before = signal.getsignal(number)
    with pytest.raises(SystemExit) as exit_, cli.signals_exit():
        signal.raise_signal(number)
    assert exit_.value.code == 128 + number
    assert signal.getsignal(number) == before


def test_ctrl_c_waits_for_the_embedded_server_to_stop() -> None:
    before = signal.getsignal(signal.SIGINT)
    with cli.ctrl_c_waits():
        signal.raise_signal(signal.SIGINT)  # ignored: no KeyboardInterrupt
    assert signal.getsignal(signal.SIGINT) == before


def test_an_interrupted_command_says_so_in_one_line(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(settings: object, args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_migrate", interrupted)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["migrate"])
    assert exit_.value.code == 128 + signal.SIGINT
    assert capsys.readouterr().err == "quire migrate: interrupted\n"


def test_a_malformed_database_url_is_one_line_not_a_traceback(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    with pytest.raises(SystemExit) as refusal:
        cli.main(["token", "someone@example.com"])
    assert str(refusal.value.code).startswith("quire token: DatabaseUrlError: DATABASE_URL must")


def test_a_database_out_of_reach_is_one_line_not_a_traceback(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    with pytest.raises(SystemExit) as refusal:
        cli.main(["migrate"])
    message = str(refusal.value.code)
    assert message.startswith("quire migrate: ConnectionRefusedError"), message
    assert "\n" not in message


def test_an_unknown_revision_is_named(
    unconfigured: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(SystemExit, match=r"quire downgrade: CommandError: .*'bogus'"):
        cli.main(["downgrade", "bogus"])


def uvicorn_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What the command hands `uvicorn.run`, which serves nothing."""
    options: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **given: options.update(given))
    return options


def test_serve_reads_host_port_and_workers_from_dotenv(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README lists them among the `.env` settings; a bind address must not be dropped."""
    monkeypatch.setitem(ServerSettings.model_config, "env_file", ENV_FILE)
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "local")
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    port = free_port()
    (unconfigured / ENV_FILE).write_text(
        f"HOST=127.0.0.1\nPORT={port}\nWEB_CONCURRENCY=3\nFORWARDED_ALLOW_IPS=10.0.0.1\n"
    )
    served = uvicorn_options(monkeypatch)

    cli.main(["serve"])

    assert (served["host"], served["port"], served["workers"]) == ("127.0.0.1", port, 3)
    assert served["forwarded_allow_ips"] == "10.0.0.1"


def test_a_taken_port_is_named_before_anything_starts(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "local")
    monkeypatch.setattr(uvicorn, "run", never_serve)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}"):
            cli.main(["dev", "--port", str(port)])


def test_a_new_revision_continues_the_numbering() -> None:
    config = migrate.alembic_config()
    numbers = [int(s.revision) for s in ScriptDirectory.from_config(config).walk_revisions()]

    assert cli._next_revision_id(config) == f"{max(numbers) + 1:04d}"


async def test_a_command_on_a_database_not_yet_migrated_says_to_migrate(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, direct_url: str
) -> None:
    """`make token` on a fresh clone ran before `make migrate`: 'relation does not exist'."""
    url = await recreate_database(direct_url, "cli_unmigrated")
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SystemExit) as refusal:
        await asyncio.to_thread(cli.main, ["token", "someone@example.com"])
    message = str(refusal.value.code)
    assert message.startswith('quire token: relation "auth.users" does not exist'), message
    assert message.endswith("run `make migrate` first")


def test_a_mistyped_name_in_env_is_pointed_out(
    unconfigured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ignored, DATABSE_URL would leave the embedded database in use without a word."""
    (unconfigured / ".env").write_text(
        "DATABSE_URL=postgresql://db.example.com/quire\nSUPABASE_JWT_SECRT=x\n"
        "SUPABASE_ANON_KEY=for-the-frontend\nQUIRE_ENVIRONMENT=local\n"
    )
    warnings = [
        "quire: .env sets DATABSE_URL, which Quire does not read; did you mean DATABASE_URL?",
        "quire: .env sets SUPABASE_JWT_SECRT, which Quire does not read; "
        "did you mean SUPABASE_JWT_SECRET?",
    ]
    cli.load_settings()
    assert capsys.readouterr().err.splitlines() == warnings
    # The preflight too: it would otherwise report every check skipped, DATABASE_URL unset.
    doctor.main()
    assert capsys.readouterr().err.splitlines() == warnings


async def test_migrate_and_downgrade_say_where_the_database_is(
    unconfigured: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = await recreate_database(direct_url, "cli_moves")
    monkeypatch.setenv("DATABASE_URL", url)
    await asyncio.to_thread(cli.main, ["migrate"])
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert capsys.readouterr().out == f"quire migrate: the database is at {head} (head)\n"
    await asyncio.to_thread(cli.main, ["downgrade"])
    assert capsys.readouterr().out.startswith("quire downgrade: the database is at 00")


async def test_a_database_never_migrated_is_at_none(direct_url: str) -> None:
    url = await recreate_database(direct_url, "cli_unmigrated")
    assert await asyncio.to_thread(migrate.current, url) == "none"


def test_psql_passes_its_own_arguments_on_and_other_commands_refuse_them(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []

    def call(command: list[str], **options: object) -> int:
        ran.append(command)
        return 0

    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    monkeypatch.setattr("subprocess.call", call)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["psql", "-tA", "-c", "select 1"])
    assert exit_.value.code == 0
    assert ran[0][1:] == ["-tA", "-c", "select 1"]
    with pytest.raises(SystemExit) as refused:
        cli.main(["token", "someone@example.com", "-c", "select 1"])
    assert refused.value.code == 2


@pytest.fixture
def served(unconfigured: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What `serve` hands uvicorn, locally, on a free port, with a database it never reaches."""
    monkeypatch.setenv("QUIRE_ENVIRONMENT", "local")
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    monkeypatch.setenv("PORT", str(free_port()))
    return uvicorn_options(monkeypatch)


def test_serve_trusts_forwarded_headers_only_from_this_machine_by_default(
    served: dict[str, object],
) -> None:
    """Trusted from anyone, X-Forwarded-For and -Proto would let any client pick its address
    and scheme."""
    cli.main(["serve", "--workers", "1"])
    assert served["proxy_headers"] is True
    assert served["forwarded_allow_ips"] == "127.0.0.1"


def test_names_in_env_are_read_whatever_their_case(unconfigured: Path) -> None:
    """pydantic-settings reads `database_url` as DATABASE_URL: no warning says otherwise."""
    (unconfigured / ".env").write_text(
        "database_url=postgresql://db.example.com/quire\nQuire_Environment=local\n"
    )
    assert unread_env_file_names() == {}


async def test_migrate_goes_to_the_direct_url(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """DATABASE_URL may be a transaction pooler that migrations must never go through."""
    settings = Settings(
        database=DatabaseSettings(url=UNREACHABLE_DATABASE, direct_url=cli_database)
    )
    await run("migrate", settings)
    assert capsys.readouterr().out.endswith("(head)\n")


async def test_migrate_goes_to_the_revision_asked_for(
    direct_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await recreate_database(direct_url, "cli_revision")
    await run("migrate", settings_for(url), "0001")
    assert capsys.readouterr().out == "quire migrate: the database is at 0001\n"


async def test_seed_migrates_a_fresh_database_first(
    direct_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make seed` on a fresh clone, before any `make migrate`."""
    url = await recreate_database(direct_url, "cli_seed")
    await run("seed", settings_for(url), "10")
    assert capsys.readouterr().out.startswith("seeded 10 posts and 1 users")
    assert await fetch(url, "SELECT count(*) FROM posts") == 10


@pytest.mark.parametrize(("options", "hours"), [((), 24), (("--hours", "168"), 168)])
async def test_token_lasts_the_hours_asked_for(
    cli_database: str, capsys: pytest.CaptureFixture[str], options: tuple[str, ...], hours: int
) -> None:
    await run("token", settings_for(cli_database), "hours@example.com", *options)
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == hours * 3600


async def test_admin_reactivates_a_deactivated_user(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run("admin", settings_for(cli_database), "lapsed@example.com")
    engine = create_engine(cli_database, use_pool=False)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE users SET is_active = false WHERE email = 'lapsed@example.com'")
            )
    finally:
        await engine.dispose()
    await run("admin", settings_for(cli_database), "lapsed@example.com")
    active = await fetch(
        cli_database, "SELECT is_active FROM users WHERE email = 'lapsed@example.com'"
    )
    assert active is True


async def test_psql_runs_on_the_database_and_exits_with_its_status(
    unconfigured: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli_database: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", cli_database)
    with pytest.raises(SystemExit) as exit_:
        await asyncio.to_thread(cli.main, ["psql", "-tAc", "SELECT current_database()"])
    assert exit_.value.code == 0
    assert capfd.readouterr().out.strip() == cli_database.rsplit("/", 1)[-1].split("?")[0]
    with pytest.raises(SystemExit) as failed:
        await asyncio.to_thread(cli.main, ["psql", "-c", "SELECT no_such_column"])
    assert failed.value.code == 1


def test_dev_migrates_through_the_direct_url_and_serves_a_local_app(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, direct_url: str, database_url: str
) -> None:
    """The reloader's app is built from the environment: without QUIRE_ENVIRONMENT=local it
    would refuse the placeholder secret."""
    # `dev` sets these for the reloader's process: monkeypatch puts back what it saw first.
    for name in ("DATABASE_URL", "QUIRE_ENVIRONMENT", "QUIRE_PUBLIC_URL"):
        monkeypatch.setenv(name, "unused")
    monkeypatch.delenv("QUIRE_ENVIRONMENT")
    monkeypatch.delenv("QUIRE_PUBLIC_URL")
    served = uvicorn_options(monkeypatch)
    settings = Settings(database=DatabaseSettings(url=UNREACHABLE_DATABASE, direct_url=direct_url))
    port = free_port()
    args = cli.parser().parse_args(["dev", "--port", str(port)])
    args.run(settings, args)
    assert served["reload"] is True
    assert os.environ["QUIRE_ENVIRONMENT"] == "local"
    # Links to locally stored avatars name the port it listens on (PORT=8001 make dev).
    assert os.environ["QUIRE_PUBLIC_URL"] == f"http://127.0.0.1:{port}"


def test_dev_keeps_a_configured_public_url(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, direct_url: str
) -> None:
    """A public address set in `.env` or the environment (a tunnel, a proxy) is the one used."""
    for name in ("DATABASE_URL", "QUIRE_ENVIRONMENT", "QUIRE_PUBLIC_URL"):
        monkeypatch.setenv(name, "unused")
        monkeypatch.delenv(name)
    uvicorn_options(monkeypatch)
    settings = Settings(
        app=AppSettings(public_url="https://quire.example"),
        database=DatabaseSettings(url=UNREACHABLE_DATABASE, direct_url=direct_url),
    )
    args = cli.parser().parse_args(["dev", "--port", str(free_port())])
    args.run(settings, args)
    assert "QUIRE_PUBLIC_URL" not in os.environ


def test_serve_logs_each_request_only_when_asked(served: dict[str, object]) -> None:
    """An access log line per request is opt-in (`--access-log`): off, the server logs warnings."""
    cli.main(["serve", "--workers", "1"])
    assert (served["access_log"], served["log_level"]) == (False, "warning")
    cli.main(["serve", "--workers", "1", "--access-log"])
    assert (served["access_log"], served["log_level"]) == (True, "info")
