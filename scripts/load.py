"""`make load`: a mixed read/write load with wrk against the API served as in production.

A dedicated embedded PostgreSQL (scratch directory, free port) is migrated, the API runs as
`python -m api.cli serve --workers 1`, authors, posts and tags are seeded through the API, and
wrk drives scripts/load.lua on loopback. The last line reads
`load: N requests, E errors, p99 X ms, rss A→B MB`; any 5xx, other non-2xx answer or transport
error makes the exit status non-zero.

    python -m scripts.load [--duration 60] [--connections 64]
"""

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess  # nosec B404 - runs wrk, apt-get and the API with fixed arguments
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from api.auth import issue_token
from bench.load import ensure_wrk
from db import migrate
from db.embedded import EmbeddedPostgres, free_port

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "scripts" / "load.lua"
AUTHORS = 64
SEED_POSTS = 40
TAGS = [f"topic-{number}" for number in range(24)]
RSS_EARLY_SECONDS = 10.0
START_DEADLINE_SECONDS = 60.0
# A request unanswered after this long counts as a transport error (p99 reports slowness).
REQUEST_TIMEOUT = "10s"
INHERITED_PREFIXES = ("DATABASE_", "SUPABASE_", "QUIRE_")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    transport_errors: int
    statuses: dict[int, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def failed_responses(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def errors(self) -> int:
        return self.transport_errors + self.failed_responses


@dataclass(frozen=True)
class Api:
    base_url: str
    process: "subprocess.Popen[bytes]"
    log: Path


def log(message: str) -> None:
    print(f"load: {message}" if message else "", file=sys.stderr, flush=True)


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[str]:
    """A migrated database on a PostgreSQL of its own, stopped on exit."""
    server = EmbeddedPostgres(workdir / "pgdata", free_port())
    server.start()
    try:
        server.create_database("quire_load")
        url = server.url("quire_load")
        migrate.upgrade(url)
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def serving(database_url: str, secret: str, workdir: Path) -> Iterator[Api]:
    """The API as `make serve` runs it, with one worker; stopped on exit."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    environment |= {
        "DATABASE_URL": database_url,
        "SUPABASE_JWT_SECRET": secret,
        "QUIRE_ENVIRONMENT": "production",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    api_log = workdir / "api.log"
    with api_log.open("wb") as sink:
        # A scratch working directory: a developer's .env must not change the run.
        process = subprocess.Popen(  # noqa: S603  # nosec B603
            command, cwd=workdir, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    api = Api(f"http://127.0.0.1:{port}", process, api_log)
    try:
        wait_until_healthy(api)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_healthy(api: Api) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise SystemExit(f"load: the API exited while starting:\n{tail(api.log)}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{api.base_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"load: the API did not become healthy:\n{tail(api.log)}")


async def sign_up(database_url: str, secret: str) -> list[str]:
    """Register AUTHORS accounts in the auth.users stand-in; return their access tokens."""
    accounts = [(uuid.uuid4(), f"load-{n}@example.com") for n in range(AUTHORS)]
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany("INSERT INTO auth.users (id, email) VALUES ($1, $2)", accounts)
    finally:
        await connection.close()
    return [issue_token(i, email, secret=secret, expires_in=3600) for i, email in accounts]


def seed(api: Api, tokens: list[str]) -> list[str]:
    """Published posts to read, written through the API; returns their slugs."""
    slugs = []
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        for number in range(SEED_POSTS):
            token = tokens[number % len(tokens)]
            body = {
                "title": f"Seeded post {number}",
                "content": "Some words to read. " * 40,
                "tags": [TAGS[number % len(TAGS)], TAGS[(number * 5 + 1) % len(TAGS)]],
                "published": True,
            }
            created = client.post(
                "/api/v1/posts", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            created.raise_for_status()
            slugs.append(created.json()["slug"])
    return slugs


def rss_mb(pid: int) -> float:
    """The process's resident set size, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def early_sample_at(duration: int) -> float:
    """When to take the first RSS sample: after warm-up, at 10 s unless the run is shorter."""
    return RSS_EARLY_SECONDS if duration > RSS_EARLY_SECONDS else duration / 2


def run_wrk(
    wrk: str, api: Api, duration: int, connections: int, environment: dict[str, str]
) -> tuple[str, float, float]:
    """wrk's output, and the server's RSS early in the run and at its end."""
    command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{duration}s"]
    command += ["--timeout", REQUEST_TIMEOUT, "-s", str(LUA_SCRIPT), api.base_url]
    process = subprocess.Popen(  # noqa: S603  # nosec B603
        command, env={**os.environ, **environment}, stdout=subprocess.PIPE, text=True
    )
    time.sleep(early_sample_at(duration))
    early = rss_mb(api.process.pid)
    output, _ = process.communicate(timeout=duration + 60)
    late = rss_mb(api.process.pid)
    if process.returncode != 0:
        raise SystemExit(f"load: wrk failed ({process.returncode}):\n{output}")
    return output, early, late


def parse(output: str) -> WrkResult:
    """The `load-result key=value …` line that scripts/load.lua prints when done."""
    line = next(row for row in output.splitlines() if row.startswith("load-result "))
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    statuses = {
        int(status): int(count)
        for status, count in (item.split(":") for item in fields["statuses"].split(",") if item)
    }
    transport = sum(int(fields[key]) for key in ("connect", "read", "write", "timeout"))
    return WrkResult(
        requests=int(fields["requests"]),
        transport_errors=transport,
        statuses=statuses,
        p50_ms=int(fields["p50_us"]) / 1000,
        p90_ms=int(fields["p90_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
    )


def report(result: WrkResult, duration: int, early: float, late: float) -> str:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
    log(f"{result.requests / duration:.0f} requests/s; statuses {statuses}")
    log(f"transport errors {result.transport_errors}; non-2xx {result.failed_responses}")
    log(f"latency p50 {result.p50_ms:.0f} ms, p90 {result.p90_ms:.0f} ms")
    at = early_sample_at(duration)
    log(f"server RSS {early:.0f} MB at {at:.0f} s, {late:.0f} MB at {duration} s")
    return (
        f"load: {result.requests} requests, {result.errors} errors, "
        f"p99 {result.p99_ms:.0f} ms, rss {early:.0f}→{late:.0f} MB"
    )


def tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:]


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--duration", type=int, default=60, help="seconds of load")
    options.add_argument("--connections", type=int, default=64)
    args = options.parse_args(argv)
    wrk = ensure_wrk()
    secret = secrets.token_urlsafe(32)
    workdir = Path(tempfile.mkdtemp(prefix="quire-load-"))
    try:
        with database(workdir) as url, serving(url, secret, workdir) as api:
            tokens = asyncio.run(sign_up(url, secret))
            environment = {
                "LOAD_TOKENS": ",".join(tokens),
                "LOAD_SLUGS": ",".join(seed(api, tokens)),
                "LOAD_TAGS": ",".join(TAGS),
            }
            log(f"{args.duration} s at {args.connections} connections against {api.base_url}")
            output, early, late = run_wrk(wrk, api, args.duration, args.connections, environment)
            result = parse(output)
            if result.errors:
                log(f"the API's log ends with:\n{tail(api.log)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(result, args.duration, early, late), flush=True)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
