"""`python -m bench.instructions [PATH]`: CPU instructions per request, counted by valgrind.

Throughput on a shared two-core machine moves ±25% between runs of the same code; the number
of instructions a request executes barely moves. This serves requests through the ASGI app
in-process (no HTTP, no load generator) under valgrind's callgrind, with counting switched on
only around them, and divides. `--ceiling` counts bench/ceiling.py's page instead. Each
list_posts change in bench/README.md was judged this way.
"""

import argparse
import asyncio
import os
import re
import subprocess  # nosec B404 - runs valgrind on this repository's own code
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvloop

from bench import database
from bench.load import ensure_debian_tool

BASE_SCALE = 10_000
WARM_UP = 30
CONCURRENCY = 4
CEILING_PATH = "/posts"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("path", nargs="?", default="/api/v1/posts")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--ceiling", action="store_true", help="count the ceiling's /posts")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = CEILING_PATH if args.ceiling else args.path
    if args.worker:
        uvloop.run(_serve_counted(args.worker, path, args.requests, args.ceiling))
        return
    ensure_debian_tool("valgrind", "valgrind")
    with database.bench_server() as maintenance_url:
        name = f"quire_bench_{BASE_SCALE}"
        url = asyncio.run(database.create_database(maintenance_url, name))
        database.migrate_database(url)
        asyncio.run(database.fill(url, BASE_SCALE))
        count = _count(url, path, args.requests, args.ceiling)
    target = f"ceiling {path}" if args.ceiling else path
    print(f"instructions: {target} {count / args.requests / 1e6:.2f}M per request")


def _count(url: str, path: str, requests: int, ceiling: bool) -> int:
    """Run the worker under callgrind; count only between its READY and DONE."""
    with tempfile.TemporaryDirectory(prefix="quire-instructions-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.instructions", path, "--worker", url,
            "--requests", str(requests), *(["--ceiling"] if ceiling else []),
        ]  # fmt: skip
        worker = subprocess.Popen(  # nosec B603
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert worker.stdin is not None
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.strip() in ("READY", "DONE"):
                switch = "on" if line.strip() == "READY" else "off"
                control = ["callgrind_control", "-i", switch, str(worker.pid)]
                subprocess.run(control, check=True, capture_output=True)  # nosec B603 B607
                worker.stdin.write("\n")
                worker.stdin.flush()
        if worker.wait() != 0:
            raise SystemExit(f"the counted worker failed ({worker.returncode})")
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise SystemExit("callgrind wrote no totals")
        return int(totals[1])


async def _serve_counted(url: str, path: str, requests: int, ceiling: bool) -> None:
    app = _app(url, ceiling)
    async with Lifespan(app):
        for _ in range(WARM_UP):
            await _get(app, path)
        _handshake("READY")
        await asyncio.gather(
            *(_get_many(app, path, requests // CONCURRENCY) for _ in range(CONCURRENCY))
        )
        _handshake("DONE")


def _app(url: str, ceiling: bool) -> Any:
    if ceiling:
        os.environ["BENCH_DATABASE_URL"] = url
        from bench.ceiling import Ceiling

        return Ceiling()
    from api.main import create_app
    from api.settings import AppSettings, DatabaseSettings, Settings

    local = AppSettings(environment="local")
    return create_app(Settings(app=local, database=DatabaseSettings(url=url)))


def _handshake(word: str) -> None:
    print(word, flush=True)
    sys.stdin.readline()


async def _get_many(app: Any, path: str, count: int) -> None:
    for _ in range(count):
        await _get(app, path)


async def _get(app: Any, path: str) -> None:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(),
        "query_string": query.encode(), "root_path": "", "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise RuntimeError(f"GET {path} answered {statuses}")


class Lifespan:
    """Run the app's startup and shutdown around a block, as a server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self._step("startup")

    async def __aexit__(self, *exc: object) -> None:
        await self._step("shutdown")
        assert self.task is not None
        await self.task

    async def _step(self, phase: str) -> None:
        await self.inbox.put({"type": f"lifespan.{phase}"})
        message = await self.outbox.get()
        if message["type"] != f"lifespan.{phase}.complete":
            raise RuntimeError(f"lifespan {phase} failed: {message}")


if __name__ == "__main__":
    main()
