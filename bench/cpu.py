"""CPU time per request around a scenario: the server's processes, and PostgreSQL's.

On this two-core machine the server, PostgreSQL and wrk share the CPUs, so requests per second
alone cannot say which side a change should go to. PostgreSQL's share counts every local
process named `postgres` (the bench's embedded server, or a local `DATABASE_URL`'s; nothing
for a remote one).
"""

from dataclasses import dataclass

import psutil

from bench.servers import Server


@dataclass(frozen=True)
class CpuSample:
    server: float
    postgres: float


def sample(server: Server) -> CpuSample:
    return CpuSample(_seconds(server.processes()), _seconds(_postgres()))


def per_request(before: CpuSample, after: CpuSample, requests: int) -> dict[str, float] | None:
    """Milliseconds of CPU per request, on each side."""
    if requests == 0:
        return None
    return {
        "server": round((after.server - before.server) * 1000 / requests, 3),
        "postgres": round((after.postgres - before.postgres) * 1000 / requests, 3),
    }


def _postgres() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def _seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue  # a backend that ended between listing and reading
        total += times.user + times.system
    return total
