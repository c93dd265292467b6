"""Commands without DATABASE_URL stop the embedded PostgreSQL they start, and only that one."""

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
import uvicorn

from api import cli
from api.settings import AppSettings, DatabaseSettings, Settings
from db import migrate
from db.embedded import SHARED_BUFFERS, EmbeddedPostgres, EmbeddedPostgresError, free_port
from db.url import asyncpg_arguments

NAME = "quire_cli"
UNUSED = Path("unused")


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedPostgres]:
    """An embedded server of the tests' own, not started: each test puts it in its state."""
    workdir = Path(tempfile.mkdtemp(prefix="quire-cli-"))
    server = EmbeddedPostgres(workdir / "pgdata", free_port())
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def without_database_url(data_dir: Path, port: int) -> Settings:
    return Settings(
        app=AppSettings(environment="test"),
        database=DatabaseSettings(
            url=None,
            direct_url=None,
            pool_mode=None,
            embedded_dir=data_dir,
            embedded_port=port,
            embedded_name=NAME,
        ),
    )


def test_a_running_server_is_left_running(embedded: EmbeddedPostgres) -> None:
    embedded.start()
    with cli.local_database(without_database_url(embedded.data_dir, embedded.port)) as url:
        assert url == embedded.url(NAME)
    assert embedded.is_running()


def test_the_server_starts_with_its_own_shared_buffers(embedded: EmbeddedPostgres) -> None:
    embedded.stop()
    embedded.start()
    assert embedded.psql("-tAc", "SHOW shared_buffers").strip() == SHARED_BUFFERS


def test_the_server_listens_on_this_machine_only(embedded: EmbeddedPostgres) -> None:
    """It trusts every connection without a password: no other machine may reach it."""
    embedded.start()
    assert embedded.psql("-tAc", "SHOW listen_addresses").strip() == "127.0.0.1"


def test_the_server_knows_letters_beyond_ascii_and_sorts_by_code_point(
    embedded: EmbeddedPostgres,
) -> None:
    embedded.start()
    answer = embedded.psql("-tAc", "SELECT lower('ÉCLAIR'), 'B' < 'a', 'z' < 'é'")
    assert answer.strip() == "éclair|t|t"


def test_a_data_directory_with_a_space_starts_and_a_taken_port_is_named() -> None:
    """pg_ctl hands its options to a shell unquoted: a socket directory with a space in it
    kept the server from starting. A port taken by another program is the error's first line."""
    data_dir = Path(tempfile.mkdtemp(prefix="quire cli ")) / "pgdata"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError) as refused:
            EmbeddedPostgres(data_dir, port).start()
    assert "Address already in use" in str(refused.value).splitlines()[0]
    server = EmbeddedPostgres(data_dir, free_port())
    try:
        server.start()
        assert server.psql("-tAc", "SELECT 1").strip() == "1"
    finally:
        server.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def test_a_refused_setting_is_named_not_an_earlier_attempts_port_in_use() -> None:
    """The server logs a setting it refuses before its "starting PostgreSQL" line."""
    data_dir = Path(tempfile.mkdtemp(prefix="quire-cli-")) / "pgdata"
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            with pytest.raises(EmbeddedPostgresError, match="Address already in use"):
                EmbeddedPostgres(data_dir, taken.getsockname()[1]).start()
        with (data_dir / "postgresql.auto.conf").open("a") as settings:
            settings.write("work_mem = 'plenty'\n")
        with pytest.raises(EmbeddedPostgresError) as refused:
            EmbeddedPostgres(data_dir, free_port()).start()
        reason = str(refused.value).splitlines()[0]
        assert 'postgresql.auto.conf" contains errors' in reason
        assert "Address already in use" not in reason
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def test_a_data_directory_whose_initdb_was_killed_is_initialised_again() -> None:
    """`make dev` killed during its first initdb (kill -9, Ctrl-C twice) left a PG_VERSION
    without a `postgres` database, and every later start failed on it."""
    workdir = Path(tempfile.mkdtemp(prefix="quire-cli-"))
    data_dir = workdir / "pgdata"
    first = (
        "from pathlib import Path; from db.embedded import EmbeddedPostgres; "
        f"EmbeddedPostgres(Path({str(data_dir)!r}), {free_port()}).start()"
    )
    server = EmbeddedPostgres(data_dir, free_port())
    try:
        starting = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-c", first], cwd=Path(__file__).parents[1], start_new_session=True
        )
        deadline = time.monotonic() + 60
        # Bootstrapped: initdb goes on to create the databases, `postgres` last.
        while not list(workdir.glob("*/global/pg_control")) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(starting.pid, signal.SIGKILL)
        starting.wait()
        assert not (data_dir / "PG_VERSION").exists()
        server.start()
        assert server.psql("-tAc", "SELECT 1").strip() == "1"
        assert [path.name for path in workdir.iterdir()] == ["pgdata"]
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_server_running_on_another_port_is_named(embedded: EmbeddedPostgres) -> None:
    """`make db` (or a killed `make dev`) left it on one port, then DATABASE_EMBEDDED_PORT
    changed: the next command said only that nobody answered on the new port."""
    embedded.start()
    elsewhere = free_port()
    settings = without_database_url(embedded.data_dir, elsewhere)
    hint = f"already running on port {embedded.port}, not {elsewhere}"
    with pytest.raises(EmbeddedPostgresError, match=hint), cli.local_database(settings):
        pass
    with pytest.raises(EmbeddedPostgresError, match=hint):
        EmbeddedPostgres(embedded.data_dir, elsewhere).keep_running()
    assert embedded.is_running()
    assert embedded.psql("-tAc", "SELECT 1").strip() == "1"


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as its own user under root only")
def test_a_data_directory_owned_by_another_user_is_given_to_the_server_user(
    embedded: EmbeddedPostgres,
) -> None:
    """Made by a user who ran PostgreSQL as themselves, then started as root: only the
    directory itself was given to the server's user, and PostgreSQL could open nothing in it."""
    embedded.start()
    embedded.stop()
    owner = embedded.data_dir.stat()
    chown = ["chown", "-R", "--no-dereference"]
    subprocess.run([*chown, "0:0", str(embedded.data_dir)], check=True)  # noqa: S603
    try:
        embedded.start()
        assert embedded.psql("-tAc", "SELECT 1").strip() == "1"
        config = embedded.data_dir / "postgresql.conf"
        assert (config.stat().st_uid, config.stat().st_gid) == (owner.st_uid, owner.st_gid)
    finally:
        owned = f"{owner.st_uid}:{owner.st_gid}"
        subprocess.run([*chown, owned, str(embedded.data_dir)], check=True)  # noqa: S603


def test_a_server_started_for_a_command_is_stopped_after_it(embedded: EmbeddedPostgres) -> None:
    embedded.stop()
    with cli.local_database(without_database_url(embedded.data_dir, embedded.port)) as url:
        assert url == embedded.url(NAME)
        assert embedded.psql("-tAc", "SELECT current_database()", database=NAME).strip() == NAME
    assert not embedded.is_running()


def test_the_last_command_to_use_a_server_a_command_started_stops_it(
    embedded: EmbeddedPostgres,
) -> None:
    """`make psql` started it, then `make dev` began to use it without connecting yet:
    quitting psql must not cut dev off, and quitting dev stops it."""
    embedded.stop()
    settings = without_database_url(embedded.data_dir, embedded.port)
    with contextlib.ExitStack() as dev:
        with cli.local_database(settings):
            dev.enter_context(cli.local_database(settings))
        assert embedded.is_running()
    assert not embedded.is_running()


def test_a_server_kept_by_make_db_outlives_every_command(embedded: EmbeddedPostgres) -> None:
    embedded.stop()
    settings = without_database_url(embedded.data_dir, embedded.port)
    with cli.local_database(settings):
        embedded.keep_running()  # `make db` while a command runs
    assert embedded.is_running()


def test_commands_starting_a_stopped_server_together_start_it_once(
    embedded: EmbeddedPostgres,
) -> None:
    """Two `make dev` at once: pg_ctl started twice failed in both ("lock file is empty")."""
    embedded.stop()
    with ThreadPoolExecutor(max_workers=2) as pool:
        leases = list(pool.map(lambda _: embedded.borrow(), range(2)))
    assert embedded.is_running()
    assert [embedded.give_back(lease) for lease in leases] == [False, False]
    assert not embedded.is_running()


def test_a_server_that_cannot_start_is_not_left_borrowed() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="quire-cli-"))
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            server = EmbeddedPostgres(workdir / "pgdata", taken.getsockname()[1])
            with pytest.raises(EmbeddedPostgresError) as refused:
                server.borrow()
        # The error is still held (its traceback, and what its frames held, with it).
        assert "Address already in use" in str(refused.value)
        with (workdir / "pgdata.lease").open("a") as lease:
            fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_server_left_by_a_killed_command_is_stopped_by_the_next(
    embedded: EmbeddedPostgres,
) -> None:
    embedded.stop()
    embedded.borrow().close()  # its process gone, the lease goes with it
    assert embedded.is_running()
    with cli.local_database(without_database_url(embedded.data_dir, embedded.port)):
        pass
    assert not embedded.is_running()


async def test_a_server_a_client_still_uses_is_left_to_it(
    embedded: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client outside the commands (the developer's own psql, say) keeps it running."""
    embedded.stop()
    with cli.local_database(without_database_url(embedded.data_dir, embedded.port)) as url:
        other = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        assert embedded.is_running()
        assert await other.fetchval("SELECT 1") == 1
        assert "keeps running" in capsys.readouterr().out
    finally:
        await other.close()
    embedded.stop()


async def test_stopping_does_not_wait_for_connected_clients(embedded: EmbeddedPostgres) -> None:
    """`make db-stop` while `make dev` or a psql is still connected stops the server at once."""
    embedded.start()
    client = await asyncpg.connect(**asyncpg_arguments(embedded.url()))
    try:
        await asyncio.to_thread(embedded.stop)
        assert not embedded.is_running()
    finally:
        client.terminate()


@pytest.mark.parametrize(
    "name", ["quire; DROP DATABASE postgres", "quire'--", "quire-dev", "1quire"]
)
def test_only_a_plain_database_name_is_created(embedded: EmbeddedPostgres, name: str) -> None:
    """The name goes into a query and onto createdb's command line as it is."""
    embedded.start()
    databases = "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"
    before = embedded.psql("-tAc", databases)
    with pytest.raises(EmbeddedPostgresError, match="not a plain database name"):
        embedded.create_database(name)
    assert embedded.psql("-tAc", databases) == before


class FakeServer:
    """Stands in for EmbeddedPostgres: records starts and stops, runs nothing."""

    def __init__(self) -> None:
        self.running = False
        self.events: list[str] = []
        self.used_while_running: list[bool] = []

    def is_running(self) -> bool:
        return self.running

    def has_other_clients(self) -> bool:
        return False

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.events.append("start")

    def borrow(self) -> bool:
        started = not self.running
        self.start()
        return started

    def give_back(self, started: bool) -> bool:
        if started:
            self.stop()
        return False

    def keep_running(self) -> None:
        self.start()

    def stop(self) -> None:
        self.running = False
        self.events.append("stop")

    def create_database(self, name: str) -> None:
        pass

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:1/{database}"

    def use(self, *args: object, **kwargs: object) -> int:
        self.used_while_running.append(self.running)
        return 0

    async def use_async(self, *args: object, **kwargs: object) -> "FakeServer":
        self.use()
        return self

    def summary(self) -> str:
        return "seeded"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """The embedded server and every command's work replaced by recorders."""
    server = FakeServer()
    # `serve` exports the URL it serves; monkeypatch puts the test's environment back.
    monkeypatch.setenv("DATABASE_URL", "unused")
    monkeypatch.setattr(cli, "embedded_server", lambda settings: server)
    for name in ("upgrade", "downgrade", "check"):
        monkeypatch.setattr(migrate, name, server.use)
    monkeypatch.setattr(migrate, "current", lambda url: "0001")
    monkeypatch.setattr("alembic.command.revision", server.use)
    monkeypatch.setattr("db.seed.seed", server.use_async)
    monkeypatch.setattr(cli, "_on_engine", server.use_async)
    monkeypatch.setattr(cli, "issue_token", lambda *args, **kwargs: "token")
    monkeypatch.setattr("subprocess.call", server.use)
    monkeypatch.setattr(uvicorn, "run", server.use)
    # `serve` checks its port first: a developer's `make dev` may be listening on it.
    monkeypatch.setattr(cli, "refuse_taken_port", lambda host, port: None)
    return server


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["downgrade"],
        ["check"],
        ["revision", "-m", "change"],
        ["seed", "10"],
        ["token", "someone@example.com"],
        ["admin", "someone@example.com"],
        ["psql"],
        ["serve", "--workers", "1"],
    ],
)
def test_every_command_stops_the_server_it_started(fake: FakeServer, command: list[str]) -> None:
    args = cli.parser().parse_args(command)
    with contextlib.suppress(SystemExit):  # psql exits with its own status
        args.run(without_database_url(UNUSED, port=1), args)
    assert fake.events == ["start", "stop"]
    assert set(fake.used_while_running) == {True}  # the work ran, on a running server


def test_db_leaves_the_server_it_started_running(fake: FakeServer) -> None:
    args = cli.parser().parse_args(["db"])
    args.run(without_database_url(UNUSED, port=1), args)
    assert fake.events == ["start"]


def test_db_stop_stops_a_running_server_and_says_so(
    embedded: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded.start()
    settings = without_database_url(embedded.data_dir, embedded.port)
    args = cli.parser().parse_args(["db-stop"])
    args.run(settings, args)
    assert not embedded.is_running()
    assert capsys.readouterr().out == "embedded PostgreSQL stopped (data kept)\n"
    args.run(settings, args)
    assert capsys.readouterr().out == "embedded PostgreSQL is not running\n"
