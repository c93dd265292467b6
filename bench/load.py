"""wrk, the C load generator, driving one scenario: requests/s, latency percentiles, errors."""

import json
import os
import shutil
import subprocess  # nosec B404 - runs wrk and apt-get with fixed arguments
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.scenarios import Scenario

SCRIPT = Path(__file__).resolve().parent / "requests.lua"
TIMEOUT = "5s"
# Every warm-up, before a scenario or before turns: the pools are open and the caches full.
WARM_UP_SECONDS = 2.0


@dataclass(frozen=True)
class Load:
    connections: int = 32
    threads: int = 2
    seconds: float = 10

    def lasting(self, seconds: float) -> "Load":
        """The same connections and threads, for `seconds`."""
        return replace(self, seconds=seconds)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_wrk() -> str:
    return ensure_debian_tool("wrk", "wrk")


def ensure_debian_tool(command: str, package: str) -> str:
    """A tool from Debian's packages, installed when missing (package lists refreshed only then)."""
    if found := shutil.which(command):
        return found
    if os.geteuid() != 0:
        raise SystemExit(f"{command} is missing: `sudo apt-get install -y {package}`")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", package]
    if subprocess.run(install, check=False, env=environment).returncode != 0:  # nosec B603 B607
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)  # nosec B603 B607
        subprocess.run(install, check=True, env=environment)  # nosec B603 B607
    found = shutil.which(command)
    if found is None:
        raise SystemExit(f"{command} could not be installed: apt-get install {package}")
    return found


def drive(base_url: str, scenario: Scenario, load: Load) -> LoadResult:
    """Replay the scenario's requests with wrk for `load.seconds`."""
    with tempfile.TemporaryDirectory(prefix="quire-bench-") as folder:
        requests = Path(folder) / "requests.tsv"
        requests.write_text("\n".join(request.line() for request in scenario.requests) + "\n")
        command = [
            ensure_wrk(), f"-t{load.threads}", f"-c{load.connections}",
            f"-d{load.seconds:g}s", f"--timeout={TIMEOUT}", "-s", str(SCRIPT), base_url,
        ]  # fmt: skip
        completed = subprocess.run(  # nosec B603
            command,
            env={"BENCH_REQUESTS": str(requests), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
    return _parse(completed.stdout)


def _parse(output: str) -> LoadResult:
    line = next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    raw = json.loads(line)
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return LoadResult(
        requests=raw["requests"],
        seconds=round(seconds, 2),
        requests_per_second=round(raw["requests"] / seconds, 1),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=sum(raw["errors"].values()),
        error_kinds={kind: count for kind, count in raw["errors"].items() if count},
    )
