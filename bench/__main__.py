"""`python -m bench [--scale N]`: seed, serve, warm up, drive every scenario, report.

The API, the ceiling and the template are measured in the same run, and list_posts is also
compared with the other two in turns (bench/turns.py), so that their ratios hold even though
absolute figures vary within a run and from run to run on a shared machine.
"""

import argparse
import asyncio
import os
import random
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import jwt

from bench import cpu, database, explain, report, servers, turns
from bench.database import StatementCounter
from bench.load import WARM_UP_SECONDS, Load, drive, ensure_wrk
from bench.scenarios import Scenario, api_scenarios, ceiling_scenarios, template_scenarios
from bench.servers import Server
from bench.turns import Contender

BASE_SCALE = 10_000


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    ensure_wrk()
    load = Load(connections=args.connections, threads=args.threads, seconds=args.seconds)
    sizes = [args.scale] if args.scale <= BASE_SCALE else [BASE_SCALE, args.scale]
    runs: dict[int, dict[str, Any]] = {}
    with database.bench_server() as maintenance_url:
        template = template_setup(maintenance_url)
        for size in sizes:
            base = size == sizes[0]
            runs[size] = measure_size(
                maintenance_url, size, load, template=template if base else None
            )
    result = report.build(runs, load, args.scale)
    path = report.write(result, args.output)
    report.print_table(result)
    print(f"results: {path}")
    for line in report.turns_lines(result):
        print(line)
    print(report.final_line(result))


@dataclass(frozen=True)
class TemplateSetup:
    """The template's database, and what its server and its requests need."""

    url: str
    env: dict[str, str]
    token: str


def template_setup(maintenance_url: str) -> TemplateSetup:
    url = asyncio.run(database.create_database(maintenance_url, "quire_bench_template"))
    secret = database.new_secret()
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "quire-bench-template-superuser"))
    token = jwt.encode({"sub": user_id}, secret, algorithm="HS256")
    env = {"TEMPLATE_DATABASE_URL": url, "TEMPLATE_SECRET": secret, "TEMPLATE_USER_ID": user_id}
    return TemplateSetup(url, env, token)


def measure_size(
    maintenance_url: str, size: int, load: Load, *, template: TemplateSetup | None
) -> dict[str, Any]:
    """Every scenario at one database size: the comparisons in turns, the API, the ceiling and
    the plans; with `template` (the base size), the write scenario and the template too."""
    url = asyncio.run(database.create_database(maintenance_url, f"quire_bench_{size}"))
    database.migrate_database(url)
    seeded = asyncio.run(database.fill(url, size))
    print(f"bench: {size} posts ({seeded} seeded now)", flush=True)
    secret = database.new_secret()
    fixtures = asyncio.run(database.fixtures(url, secret))
    writes = template is not None
    scenarios = [s for s in api_scenarios(fixtures, random.Random(size)) if writes or s.reads]
    counter = StatementCounter(url)
    asyncio.run(counter.enable())
    env = {"DATABASE_URL": url, "SUPABASE_JWT_SECRET": secret, "BENCH_DATABASE_URL": url}
    try:
        # Before the write scenario, so that every contender reads the data as seeded.
        in_turns = measure_in_turns(env, scenarios, template, load)
        print(f"  {report.turns_line(size, in_turns)}", flush=True)
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
        "turns": in_turns,
        "api": api,
        "ceiling": ceiling,
        "plans": plans,
    }
    if template is not None:
        measured["template"] = measure_template(template, load)
    return measured


def measure_template(template: TemplateSetup, load: Load) -> dict[str, Any]:
    """The template's item list (bench/template.py), on a database of its own."""
    counter = StatementCounter(template.url)
    asyncio.run(counter.enable())
    with servers.template(template.env) as server:
        return run_scenarios(server, template_scenarios(template.token), load, counter)


def measure_in_turns(
    env: dict[str, str], scenarios: list[Scenario], template: TemplateSetup | None, load: Load
) -> dict[str, Any]:
    """list_posts, the ceiling's page and, when given, the template's list, taking turns
    (bench/turns.py)."""
    with ExitStack() as stack:
        contenders = [
            Contender(stack.enter_context(servers.api(env)), _named(scenarios, report.HEADLINE)),
            Contender(
                stack.enter_context(servers.ceiling(env)),
                _named(ceiling_scenarios(), report.CEILING),
            ),
        ]
        if template is not None:
            contenders.append(
                Contender(
                    stack.enter_context(servers.template(template.env)),
                    _named(template_scenarios(template.token), report.TEMPLATE),
                )
            )
        return turns.summary(turns.take_turns(contenders, load))


def _named(scenarios: list[Scenario], name: str) -> Scenario:
    return next(scenario for scenario in scenarios if scenario.name == name)


def run_scenarios(
    server: Server, scenarios: list[Scenario], load: Load, counter: StatementCounter
) -> dict[str, Any]:
    """Warm the reads up, then measure each scenario; server memory before and after.

    A scenario that writes is warmed up just before it is measured, after the reads, so that
    no read is measured in whatever state a burst of writes leaves behind (bench/README.md).
    """
    warm_up = load.lasting(WARM_UP_SECONDS)
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
