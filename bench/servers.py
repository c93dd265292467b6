"""The servers under test, started as production starts them: one worker, no access log."""

import os
import subprocess  # nosec B404 - starts this repository's own servers
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import psutil

from db.embedded import free_port

HOST = "127.0.0.1"
START_SECONDS = 30


@dataclass(frozen=True)
class Server:
    process: "subprocess.Popen[bytes]"
    base_url: str

    def processes(self) -> list[psutil.Process]:
        """The server's process and any process it started."""
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def rss_bytes(self) -> int:
        """Resident memory of the server and any process it started."""
        return sum(process.memory_info().rss for process in self.processes())


def api_command(port: int) -> list[str]:
    """`make serve` with one worker: uvloop, httptools, no access log, no reload."""
    return [
        sys.executable, "-m", "api.cli", "serve",
        "--workers", "1", "--host", HOST, "--port", str(port),
    ]  # fmt: skip


def ceiling_command(port: int, app: str = "bench.ceiling:app") -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


@contextmanager
def start(command: list[str], port: int, env: dict[str, str], ready_path: str) -> Iterator[Server]:
    """Run `command` until the block ends; wait until `ready_path` answers 200."""
    process = subprocess.Popen(command, env={**os.environ, **env})  # nosec B603
    server = Server(process, f"http://{HOST}:{port}")
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def api(env: dict[str, str]) -> AbstractContextManager[Server]:
    port = free_port()
    return start(api_command(port), port, env, "/health")


def ceiling(env: dict[str, str]) -> AbstractContextManager[Server]:
    port = free_port()
    return start(ceiling_command(port), port, env, "/hello")


def template(env: dict[str, str]) -> AbstractContextManager[Server]:
    """bench/template.py, served as the ceiling is; it answers 401 until signed in."""
    port = free_port()
    return start(ceiling_command(port, "bench.template:app"), port, env, "/docs")


def _wait_until_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=2) as response:  # nosec B310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.base_url}{path} did not answer within {START_SECONDS} s")
