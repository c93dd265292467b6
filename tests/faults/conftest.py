"""Fault fixtures: a PostgreSQL of our own to stop and start, and the API as a real server.

Unlike the rest of the suite these never use TEST_DATABASE_URL: they stop the database.
"""

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import subprocess  # nosec B404 - starts the API with fixed arguments
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from db import migrate
from db.embedded import EmbeddedPostgres, free_port
from db.url import asyncpg_arguments
from tests.support import TEST_JWT_SECRET, bearer, make_token

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.1
# The embedded server and the API read these; the tests choose them instead.
INHERITED_PREFIXES = ("DATABASE_", "SUPABASE_", "QUIRE_")


@dataclass
class FaultDatabase:
    server: EmbeddedPostgres
    url: str
    workdir: Path


@dataclass
class ApiServer:
    base_url: str
    process: "subprocess.Popen[bytes]"
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no rollback sent, sockets just close."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def fault_database() -> Iterator[FaultDatabase]:
    """A dedicated, migrated embedded PostgreSQL, started again at the end if a test stopped it."""
    workdir = Path(tempfile.mkdtemp(prefix="quire-faults-"))
    server = EmbeddedPostgres(workdir / "pgdata", free_port())
    server.start()
    server.create_database("quire_faults")
    url = server.url("quire_faults")
    migrate.upgrade(url)
    try:
        yield FaultDatabase(server, url, workdir)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def api_environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    return {
        **env,
        "DATABASE_URL": database_url,
        "SUPABASE_JWT_SECRET": TEST_JWT_SECRET,
        "QUIRE_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
    }


def start_api(database: FaultDatabase) -> ApiServer:
    """`python -m api.cli serve --workers 1`, as in production, answering /health."""
    port = free_port()
    log = database.workdir / f"api-{port}.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        # The working directory is a scratch one, so a developer's .env is not read.
        process = subprocess.Popen(  # noqa: S603  # nosec B603
            command,
            cwd=database.workdir,
            env=api_environment(database.url),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    api = ApiServer(f"http://127.0.0.1:{port}", process, log)
    _wait_until_healthy(api)
    return api


def _wait_until_healthy(api: ApiServer) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise RuntimeError(f"the API exited while starting:\n{api.output()}")
        try:
            if httpx.get(f"{api.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    api.stop()
    raise RuntimeError(f"the API did not become healthy:\n{api.output()}")


@contextlib.contextmanager
def running_api(database: FaultDatabase) -> Iterator[ApiServer]:
    """The API started against `database`, stopped on leaving."""
    server = start_api(database)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(fault_database: FaultDatabase) -> Iterator[ApiServer]:
    with running_api(fault_database) as server:
        yield server


async def signed_up(database_url: str) -> dict[str, str]:
    """Register a new account in auth.users and return its bearer header."""
    account_id = uuid.uuid4()
    email = f"fault-{account_id.hex[:8]}@example.com"
    connection = await asyncpg.connect(**asyncpg_arguments(database_url))
    try:
        await connection.execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2)", account_id, email
        )
    finally:
        await connection.close()
    return bearer(make_token(account_id, email))


async def fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(**asyncpg_arguments(database_url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, within: float, what: str
) -> None:
    """Poll `check` until it holds; fail naming `what` after `within` seconds (a generous bound)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{what}: not within {within:.0f} s")
