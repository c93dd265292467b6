"""The bench's results: a JSON file per run, a table, and the one line that sums it up."""

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import Load
from bench.turns import ratios

HEADLINE = "list_posts"
CEILING = "ceiling_list_posts"
TEMPLATE = "template_list_items"
GROUPS = ("api", "ceiling", "template")


def build(runs: dict[int, dict[str, Any]], load: Load, scale: int) -> dict[str, Any]:
    sizes = sorted(runs)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load": {
            "tool": "wrk",
            "threads": load.threads,
            "connections": load.connections,
            "seconds": load.seconds,
        },
        "scale": scale,
        "runs": {str(size): runs[size] for size in sizes},
    }
    if len(sizes) > 1:
        result["p99_by_size"] = _p99_by_size(runs[sizes[0]], runs[sizes[-1]], sizes)
    return result


def _p99_by_size(small: dict[str, Any], large: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    rows = {}
    for group in ("api", "ceiling"):
        for name, measured in large[group]["scenarios"].items():
            before = small[group]["scenarios"][name]["p99_ms"]
            after = measured["p99_ms"]
            rows[name] = {
                f"p99_ms_{sizes[0]}": before,
                f"p99_ms_{sizes[-1]}": after,
                "ratio": round(after / before, 2) if before else None,
            }
    return rows


def write(result: dict[str, Any], folder: str) -> Path:
    """Write `result` as `<date>.json` (`<date>-<scale>.json` above 10k posts), or, when a run
    of the same day and size is there already, as `…-2.json`, `…-3.json`: runs vary, and each
    is kept."""
    day = result["date"][:10]
    stem = day if result["scale"] <= 10_000 else f"{day}-{result['scale']}"
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        path = directory / (f"{stem}.json" if number == 1 else f"{stem}-{number}.json")
        try:
            with path.open("x") as file:
                file.write(json.dumps(result, indent=1) + "\n")
            return path
        except FileExistsError:
            number += 1


def row(name: str, measured: dict[str, Any]) -> str:
    statements = measured["statements_per_request"]
    cpu = measured.get("cpu_ms_per_request")
    cpu_text = "?" if cpu is None else f"{cpu['server']:.2f} + pg {cpu['postgres']:.2f} ms"
    return (
        f"{name:<20} {measured['requests_per_second']:>9.1f} req/s  "
        f"p50 {measured['p50_ms']:>7.2f} ms  p99 {measured['p99_ms']:>8.2f} ms  "
        f"errors {measured['errors']:>4}  "
        f"statements {'?' if statements is None else f'{statements:.2f}'}  cpu {cpu_text}"
    )


def print_table(result: dict[str, Any]) -> None:
    for size, run in result["runs"].items():
        print(f"\n{size} posts")
        for group in (group for group in GROUPS if group in run):
            rss = run[group]["rss_mb"]
            print(f"  {group} RSS {rss['after_warm_up']} MB warm, {rss['after_run']} MB after")
            for name, measured in run[group]["scenarios"].items():
                print(f"  {row(name, measured)}")
    for name, sizes in result.get("p99_by_size", {}).items():
        print(f"  {name:<20} p99 {sizes}")


def final_line(result: dict[str, Any]) -> str:
    """The run in one line, in a fixed form (bench/README.md): list_posts at the largest size,
    its share of the ceiling the median of the rounds in turns."""
    run = result["runs"][str(result["scale"])]
    api = run["api"]["scenarios"][HEADLINE]
    share = statistics.median(ratios(run["turns"], HEADLINE, CEILING))
    errors = sum(
        measured["errors"]
        for each in result["runs"].values()
        for group in GROUPS
        if group in each
        for measured in each[group]["scenarios"].values()
    ) + sum(each["turns"]["errors"] for each in result["runs"].values())
    return (
        f"bench: list_posts {api['requests_per_second']:.0f} req/s = {share:.0%} of ceiling; "
        f"p99 {api['p99_ms']:.1f} ms; errors {errors}"
    )


def turns_line(size: int | str, turns: dict[str, Any]) -> str:
    """list_posts against the ceiling and the template in turns: each ratio's median over the
    rounds, then its range."""
    parts = [
        f"{form.format(statistics.median(values))} {what} "
        f"({form.format(min(values))}-{form.format(max(values))})"
        for other, form, what in (
            (CEILING, "{:.0%}", "of the ceiling"),
            (TEMPLATE, "{:.1f}x", "the template's item list"),
        )
        if (values := ratios(turns, HEADLINE, other))
    ]
    rounds = len(turns["requests_per_second"][HEADLINE])
    return f"turns at {size} posts, {rounds} rounds: list_posts = {'; '.join(parts)}"


def turns_lines(result: dict[str, Any]) -> list[str]:
    return [turns_line(size, run["turns"]) for size, run in result["runs"].items()]
