"""`python -m bench [--scale N]`: seed, serve, warm up, drive every scenario, report.

The API and the ceiling are measured in the same run on the same database, so their ratio
holds even though absolute figures vary from run to run on a shared machine.
"""

import argparse
import asyncio
import os
import random
import uuid
from typing import Any

import jwt

from bench import cpu, database, explain, report, servers
from bench.database import StatementCounter
from bench.load import Load, drive, ensure_wrk
from bench.scenarios import Scenario, api_scenarios, ceiling_scenarios, template_scenarios
from bench.servers import Server

BASE_SCALE = 10_000
WARM_UP_SECONDS = 2.0


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    ensure_wrk()
    load = Load(connections=args.connections, threads=args.threads, seconds=args.seconds)
    sizes = [args.scale] if args.scale <= BASE_SCALE else [BASE_SCALE, args.scale]
    runs: dict[int, dict[str, Any]] = {}
    with database.bench_server() as maintenance_url:
        for size in sizes:
            runs[size] = measure_size(maintenance_url, size, load, writes=size == sizes[0])
    result = report.build(runs, load, args.scale)
    path = report.write(result, args.output)
    report.print_table(result)
    print(f"results: {path}")
    if compared := report.template_line(result):
        print(compared)
    print(report.final_line(result))


def measure_size(maintenance_url: str, size: int, load: Load, *, writes: bool) -> dict[str, Any]:
    """Every scenario at one database size: the API, then the ceiling, then the plans."""
    url = asyncio.run(database.create_database(maintenance_url, f"quire_bench_{size}"))
    database.migrate_database(url)
    seeded = asyncio.run(database.fill(url, size))
    print(f"bench: {size} posts ({seeded} seeded now)", flush=True)
    secret = database.new_secret()
    fixtures = asyncio.run(database.fixtures(url, secret))
    scenarios = [s for s in api_scenarios(fixtures, random.Random(size)) if writes or s.reads]
    counter = StatementCounter(url)
    asyncio.run(counter.enable())
    env = {"DATABASE_URL": url, "SUPABASE_JWT_SECRET": secret, "BENCH_DATABASE_URL": url}
    try:
        with servers.api(env) as server:
            api = run_scenarios(server, scenarios, load, counter)
        with servers.ceiling(env) as server:
            ceiling = run_scenarios(server, ceiling_scenarios(), load, counter)
        plans = asyncio.run(explain.explain_api(url, secret, scenarios))
        plans["ceiling_list_posts"] = asyncio.run(explain.explain_ceiling(url))
    finally:
        asyncio.run(database.remove_bench_posts(url))
    measured = {
        "posts": size,
        "statements_counted": counter.available,
        "api": api,
        "ceiling": ceiling,
        "plans": plans,
    }
    if writes:
        measured["template"] = measure_template(maintenance_url, load)
    return measured


def measure_template(maintenance_url: str, load: Load) -> dict[str, Any]:
    """The template's item list (bench/template.py), on a database of its own."""
    url = asyncio.run(database.create_database(maintenance_url, "quire_bench_template"))
    secret = database.new_secret()
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "quire-bench-template-superuser"))
    token = jwt.encode({"sub": user_id}, secret, algorithm="HS256")
    counter = StatementCounter(url)
    asyncio.run(counter.enable())
    env = {"TEMPLATE_DATABASE_URL": url, "TEMPLATE_SECRET": secret, "TEMPLATE_USER_ID": user_id}
    with servers.template(env) as server:
        return run_scenarios(server, template_scenarios(token), load, counter)


def run_scenarios(
    server: Server, scenarios: list[Scenario], load: Load, counter: StatementCounter
) -> dict[str, Any]:
    """Warm the reads up, then measure each scenario; server memory before and after.

    A scenario that writes is warmed up just before it is measured, after the reads, so that
    no read is measured in whatever state a burst of writes leaves behind (bench/README.md).
    """
    warm_up = Load(load.connections, load.threads, WARM_UP_SECONDS)
    for scenario in scenarios:
        if scenario.reads:
            drive(server.base_url, scenario, warm_up)
    rss_warm = server.rss_bytes()
    measured: dict[str, Any] = {}
    for scenario in scenarios:
        if scenario.writes:
            drive(server.base_url, scenario, warm_up)
        asyncio.run(counter.reset())
        before = cpu.sample(server)
        result = drive(server.base_url, scenario, load)
        after = cpu.sample(server)
        statements = asyncio.run(counter.read(result.requests))
        measured[scenario.name] = {
            **result.as_dict(),
            "cpu_ms_per_request": cpu.per_request(before, after, result.requests),
            "statements_per_request": statements.per_request if statements else None,
            "statements": statements.statements if statements else None,
        }
        print(f"  {report.row(scenario.name, measured[scenario.name])}", flush=True)
    return {
        "rss_mb": {
            "after_warm_up": round(rss_warm / 2**20, 1),
            "after_run": round(server.rss_bytes() / 2**20, 1),
        },
        "scenarios": measured,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE") or BASE_SCALE))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default="bench/results")
    return parser


if __name__ == "__main__":
    main()
