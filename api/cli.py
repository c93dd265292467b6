"""Command line behind the Makefile: local database, migrations, serving, tokens.

`python -m api.cli dev` starts the embedded PostgreSQL when DATABASE_URL is unset, migrates
and serves with reload; the other commands are the Makefile's targets of the same names. Every
command but `db` stops the embedded server on exit if a command started it and no other
command still uses it.
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess  # nosec B404  # runs psql with arguments built here
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import MAX_TOKEN_LIFETIME_SECONDS, issue_token
from api.server import HeadLimitedHttpToolsProtocol
from api.settings import (
    FORGEABLE_TOKENS_REFUSAL,
    Settings,
    accepts_forged_tokens,
    get_settings,
    settings_problems,
    unread_env_file_warnings,
)
from db import migrate
from db.embedded import BIN_DIR, EmbeddedPostgres, EmbeddedPostgresError
from db.engine import create_engine, create_sessionmaker
from db.models import Role
from db.models.auth import SUPABASE_AUTH_PROBE
from db.repositories import users
from db.url import DatabaseUrlError, parse_database_url

HOST = "127.0.0.1"


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(
        settings.database.embedded_dir.resolve(), settings.database.embedded_port
    )


def embedded_database(settings: Settings, server: EmbeddedPostgres) -> str:
    server.create_database(settings.database.embedded_name)
    return server.url(settings.database.embedded_name)


@contextmanager
def local_database(settings: Settings) -> Iterator[str]:
    """Yield the database URL; the embedded server, borrowed meanwhile, is stopped on exit if
    a command started it and no other command or client still uses it."""
    if settings.database.url:
        yield settings.database.url
        return
    server = embedded_server(settings)
    lease = server.borrow()
    try:
        yield embedded_database(settings, server)
    finally:
        # A Ctrl-C in the middle would leave the lease taken until this process ends.
        with ctrl_c_waits():
            if server.give_back(lease):
                print(
                    "quire: a client is still connected to the embedded PostgreSQL, so it "
                    "keeps running; `make db-stop`"
                )


@contextmanager
def migration_database(settings: Settings) -> Iterator[str]:
    """Yield where migrations run: DATABASE_DIRECT_URL, else as `local_database` does."""
    if settings.database.direct_url:
        yield settings.database.direct_url
        return
    if settings.database.pool_mode == "transaction":
        raise SystemExit(
            "DATABASE_POOL_MODE=transaction: migrations never run through a transaction pooler; "
            "set DATABASE_DIRECT_URL to the direct or session-pooler connection string."
        )
    with local_database(settings) as url:
        yield url


def refuse_public_secret(settings: Settings) -> None:
    """Exit before serving if anyone could sign a token the app accepts (`create_app` would
    refuse too, in each worker, with a traceback)."""
    if accepts_forged_tokens(settings):
        raise SystemExit(f"quire serve: refusing to start: {FORGEABLE_TOKENS_REFUSAL}")


def cmd_dev(settings: Settings, args: argparse.Namespace) -> None:
    port = args.port or settings.server.port
    refuse_taken_port(HOST, port)
    with local_database(settings) as url, signals_exit():
        migrate.upgrade(settings.database.direct_url or url)
        os.environ["DATABASE_URL"] = url
        # The app the reloader builds is a development one on purpose, whatever the default.
        os.environ.setdefault("QUIRE_ENVIRONMENT", "local")
        if "public_url" not in settings.app.model_fields_set:
            # Links to locally stored avatars name the port this server listens on.
            os.environ["QUIRE_PUBLIC_URL"] = f"http://{HOST}:{port}"
        print(f"Quire on http://{HOST}:{port} (docs at /docs), database {_redacted(url)}")
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=HOST,
            port=port,
            reload=True,
            reload_dirs=["api", "db"],
            http=HeadLimitedHttpToolsProtocol,
        )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    refuse_public_secret(settings)
    server = settings.server
    host, port = args.host or server.host, args.port or server.port
    refuse_taken_port(host, port)
    with local_database(settings) as url, signals_exit():
        os.environ["DATABASE_URL"] = url
        # With one worker the app is built in this process, whose settings predate the URL.
        get_settings.cache_clear()
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers or server.web_concurrency,
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips or server.forwarded_allow_ips,
            access_log=args.access_log,
            loop="uvloop",
            # httptools, with a cap on the size of request heads (uvicorn's has none).
            http=HeadLimitedHttpToolsProtocol,
            log_level="warning" if not args.access_log else "info",
        )


def refuse_taken_port(host: str, port: int) -> None:
    """Exit with a hint when another process listens on the port, before anything starts."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SystemExit(
                f"quire: cannot listen on {host}:{port} ({error.strerror}); is Quire already "
                "running? Set PORT to use another port."
            ) from None


@contextmanager
def signals_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit meanwhile, so that the blocks around them still
    clean up.

    One uvicorn worker runs in this process: after its graceful shutdown it re-raises the
    signal it caught, and SIGTERM's default action would end the process before `finally`.
    SIGHUP (the terminal closed) would too, and uvicorn does not catch it at all.
    """
    previous = {number: signal.signal(number, _exit_on_signal) for number in EXITING_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


EXITING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def ctrl_c_waits() -> Iterator[None]:
    """Ctrl-C is ignored meanwhile, by this process and the commands it runs."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def cmd_db(settings: Settings, args: argparse.Namespace) -> None:
    if settings.database.url:
        print(_redacted(settings.database.url))
        return
    server = embedded_server(settings)
    server.keep_running()
    print(embedded_database(settings, server))


def cmd_db_stop(settings: Settings, args: argparse.Namespace) -> None:
    server = embedded_server(settings)
    if not server.is_running():
        print("embedded PostgreSQL is not running")
        return
    server.stop()
    print("embedded PostgreSQL stopped (data kept)")


def cmd_psql(settings: Settings, args: argparse.Namespace) -> None:
    with local_database(settings) as url:
        # The URL's SSL settings too: without them psql would not verify the server.
        env = {**os.environ, **parse_database_url(url).libpq_environment()}
        command = [str(BIN_DIR / "psql"), *args.arguments]
        status = subprocess.call(command, env=env)  # noqa: S603  # nosec B603
    raise SystemExit(status)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    with migration_database(settings) as url:
        migrate.upgrade(url, args.revision)
        print(f"quire migrate: the database is at {migrate.current(url)}")


def cmd_downgrade(settings: Settings, args: argparse.Namespace) -> None:
    with migration_database(settings) as url:
        migrate.downgrade(url, args.revision)
        print(f"quire downgrade: the database is at {migrate.current(url)}")


def cmd_revision(settings: Settings, args: argparse.Namespace) -> None:
    from alembic import command

    with migration_database(settings) as url:
        migrate.upgrade(url)
        config = migrate.alembic_config(url)
        command.revision(
            config, message=args.message, autogenerate=True, rev_id=_next_revision_id(config)
        )


def _next_revision_id(config: Config) -> str | None:
    """The history's numbering, `0001`, `0002`…, continued (Alembic's random id otherwise)."""
    head = ScriptDirectory.from_config(config).get_current_head() or "0000"
    return f"{int(head) + 1:04d}" if head.isdigit() else None


def cmd_check(settings: Settings, args: argparse.Namespace) -> None:
    with migration_database(settings) as url:
        migrate.check(url)


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    # A development tool: its progress bar is a dev dependency.
    from db.seed import SeedRefused, seed

    with migration_database(settings) as migrations_url, local_database(settings) as url:
        migrate.upgrade(migrations_url)
        try:
            print(asyncio.run(seed(url, args.posts)).summary())
        except SeedRefused as refusal:
            raise SystemExit(str(refusal)) from None


def cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    account_id = _with_engine(settings, _ensure_account, args.email)
    secret = settings.supabase.jwt_secret.get_secret_value()
    token = issue_token(
        account_id,
        args.email,
        secret=secret,
        expires_in=args.hours * 3600,
        issuer=settings.supabase.auth_issuer,
    )
    print(token)


def cmd_admin(settings: Settings, args: argparse.Namespace) -> None:
    _with_engine(settings, _make_admin, args.email)
    print(f"{args.email} is now an admin")


Work = Callable[[AsyncEngine, str], Awaitable[uuid.UUID]]


def _with_engine(settings: Settings, work: Work, email: str) -> uuid.UUID:
    with local_database(settings) as url:
        return asyncio.run(_on_engine(url, settings, work, email))


async def _on_engine(url: str, settings: Settings, work: Work, email: str) -> uuid.UUID:
    engine = create_engine(url, pool_mode=settings.database.pool_mode, use_pool=False)
    try:
        return await work(engine, email)
    finally:
        await engine.dispose()


async def _is_supabase(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return bool((await connection.execute(text(SUPABASE_AUTH_PROBE))).scalar())


async def _ensure_account(engine: AsyncEngine, email: str) -> uuid.UUID:
    """The auth.users id for `email`, registering it in the local stand-in when needed."""
    find = text("SELECT id FROM auth.users WHERE lower(email) = lower(:email)")
    async with engine.begin() as connection:
        account_id = (await connection.execute(find, {"email": email})).scalar()
    if account_id is not None:
        return uuid.UUID(str(account_id))
    if await _is_supabase(engine):
        raise SystemExit(
            f"{email} has no Supabase Auth account: sign it up through Supabase Auth first "
            "(this command only registers accounts in the local stand-in)."
        )
    register = text(
        "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), :email) RETURNING id"
    )
    async with engine.begin() as connection:
        return uuid.UUID(str((await connection.execute(register, {"email": email})).scalar_one()))


async def _make_admin(engine: AsyncEngine, email: str) -> uuid.UUID:
    account_id = await _ensure_account(engine, email)
    async with create_sessionmaker(engine)() as session:
        user = await users.sign_in(session, account_id, email)
        if user is None:
            raise SystemExit(f"no account for {email}")
        await users.update_access(session, user, role=Role.ADMIN, is_active=True)
        await session.commit()
    return account_id


def _redacted(url: str) -> str:
    return parse_database_url(url).redacted()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="quire", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="local database + migrations + API with reload")
    dev.add_argument("--port", type=int, help="default: PORT, else 8000")
    dev.set_defaults(run=cmd_dev)
    serve = commands.add_parser("serve", help="production server: no reload, several workers")
    # Defaults from the settings (environment and .env): HOST, PORT, WEB_CONCURRENCY, …
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--forwarded-allow-ips")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(run=cmd_serve)
    for name, run in (
        ("db", cmd_db),
        ("db-stop", cmd_db_stop),
        ("check", cmd_check),
    ):
        commands.add_parser(name).set_defaults(run=run)
    psql = commands.add_parser("psql", help="psql on the database; what follows is psql's")
    psql.set_defaults(run=cmd_psql, passes_arguments_on=True, arguments=[])
    up = commands.add_parser("migrate", help="alembic upgrade")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(run=cmd_migrate)
    down = commands.add_parser("downgrade", help="alembic downgrade")
    down.add_argument("revision", nargs="?", default="-1")
    down.set_defaults(run=cmd_downgrade)
    revision = commands.add_parser("revision", help="autogenerate a migration")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(run=cmd_revision)
    seeding = commands.add_parser("seed", help="add N posts by N/10 users, through COPY")
    seeding.add_argument("posts", type=post_count)
    seeding.set_defaults(run=cmd_seed)
    token = commands.add_parser("token", help="print an access token for an email")
    token.add_argument("email", type=email_address)
    token.add_argument(
        "--hours",
        type=int,
        default=24,
        choices=range(1, MAX_TOKEN_LIFETIME_SECONDS // 3600 + 1),
        metavar="1-168",
        help="how long the token lasts (Supabase's tokens last a week at most)",
    )
    token.set_defaults(run=cmd_token)
    admin = commands.add_parser("admin", help="make the user with this email an admin")
    admin.add_argument("email", type=email_address)
    admin.set_defaults(run=cmd_admin)
    return root


def email_address(text: str) -> str:
    """An address with a name and a domain: `make token EMAIL=ada` registered `ada`."""
    name, at, domain = text.rpartition("@")
    if not (name and at and domain) or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an email address")
    return text


def post_count(text: str) -> int:
    """A number of posts to seed: 1 or more."""
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text} posts: at least 1 is needed")
    return count


def load_settings() -> Settings:
    """The settings, or an exit that says what is wrong in them, without a traceback."""
    for warning in unread_env_file_warnings():
        print(warning, file=sys.stderr)
    try:
        return get_settings()
    except (ValidationError, SettingsError) as error:
        raise SystemExit(f"quire: invalid configuration\n{settings_problems(error)}") from None


def main(argv: list[str] | None = None) -> None:
    commands = parser()
    # psql's own options (`-c 'select 1'`) go to psql, which argparse would take for ours.
    args, unknown = commands.parse_known_args(argv)
    if unknown and not getattr(args, "passes_arguments_on", False):
        commands.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.arguments = unknown
    try:
        args.run(load_settings(), args)
    except COMMON_FAILURES as error:
        # A database out of reach, a port taken, a revision unknown: what to fix, in one line,
        # not a traceback through the driver.
        raise SystemExit(f"quire {args.command}: {_first_line(error)}") from None
    except KeyboardInterrupt:
        # Each migration runs in a transaction of its own: the next `make migrate` resumes.
        print(f"quire {args.command}: interrupted", file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None


# What a mistake in the setup raises: the database unreachable or missing (OSError, the
# driver's error), the embedded server unable to start, an Alembic command refused, a
# DATABASE_URL that is not one.
COMMON_FAILURES = (OSError, DBAPIError, EmbeddedPostgresError, CommandError, DatabaseUrlError)


def _first_line(error: BaseException) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    if getattr(cause, "sqlstate", None) == UNDEFINED_TABLE:
        return f"{lines[0]}: the database is not migrated; run `make migrate` first"
    return f"{type(cause).__name__}: {lines[0]}"


UNDEFINED_TABLE = "42P01"


if __name__ == "__main__":
    main()
