"""`make bench`'s bookkeeping: wrk's line parsed, the summary line worded as bench/README says."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.cpu import CpuSample, per_request, sample
from bench.load import Load, _parse
from bench.report import build, final_line, turns_line, turns_lines, write
from bench.servers import Server
from bench.turns import turn_order

WRK_LINE = json.dumps(
    {
        "requests": 5000,
        "duration_us": 10_000_000,
        "bytes": 1,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 2, "timeout": 1},
        "latency_us": {"p50": 1500, "p90": 3000, "p99": 12500, "max": 20000, "mean": 1800.0},
    }
)


def scenario(rps: float, p99: float, errors: int = 0) -> dict[str, Any]:
    return {"requests_per_second": rps, "p99_ms": p99, "errors": errors}


def turns(list_posts: list[float], ceiling: list[float], **others: list[float]) -> dict[str, Any]:
    rates = {"list_posts": list_posts, "ceiling_list_posts": ceiling, **others}
    return {"seconds": 5.0, "requests_per_second": rates, "errors": 0}


def test_wrk_output_is_read_from_its_last_json_line() -> None:
    result = _parse("Running 10s test\n" + WRK_LINE + "\n")
    assert (result.requests, result.requests_per_second) == (5000, 500.0)
    assert (result.p50_ms, result.p99_ms) == (1.5, 12.5)
    assert (result.errors, result.error_kinds) == (3, {"status": 2, "timeout": 1})


def test_final_line_compares_list_posts_with_the_ceiling_and_sums_errors() -> None:
    run = {
        "turns": turns([600], [1200]),
        "api": {"rss_mb": {}, "scenarios": {"list_posts": scenario(600, 41.25)}},
        "ceiling": {
            "rss_mb": {},
            "scenarios": {
                "ceiling_list_posts": scenario(1200, 20),
                "ceiling_hello": scenario(9e3, 2),
            },
        },
    }
    result = build({10_000: run}, Load(), 10_000)
    assert (
        final_line(result) == "bench: list_posts 600 req/s = 50% of ceiling; p99 41.2 ms; errors 0"
    )


def test_two_sizes_report_each_p99_and_their_ratio() -> None:
    def run(p99: float) -> dict[str, Any]:
        return {
            "turns": turns([600], [1200]),
            "api": {"scenarios": {"list_posts": scenario(600, p99)}},
            "ceiling": {"scenarios": {"ceiling_list_posts": scenario(1200, 10, errors=1)}},
        }

    result = build({10_000: run(20.0), 1_000_000: run(30.0)}, Load(), 1_000_000)
    assert result["p99_by_size"]["list_posts"] == {
        "p99_ms_10000": 20.0,
        "p99_ms_1000000": 30.0,
        "ratio": 1.5,
    }
    # Every run's errors: the ceiling's one at each size.
    assert final_line(result).endswith("errors 2")


def test_turns_are_summed_up_as_the_median_ratio_of_each_round_and_its_range() -> None:
    taken = turns([1000, 1500, 1500], [1600, 2000, 1900], template_list_items=[200, 250, 240])
    assert turns_line(10_000, taken) == (
        "turns at 10000 posts, 3 rounds: list_posts = 75% of the ceiling (62%-79%); "
        "6.0x the template's item list (5.0x-6.2x)"
    )
    # At a larger size there is no template: only the ceiling is compared.
    assert turns_line(1_000_000, turns([900], [1000])) == (
        "turns at 1000000 posts, 1 rounds: list_posts = 90% of the ceiling (90%-90%)"
    )


def test_the_final_line_takes_its_share_of_the_ceiling_from_the_turns() -> None:
    run = {
        "turns": {**turns([700, 300, 600], [1000, 1000, 1000]), "errors": 3},
        "api": {"scenarios": {"list_posts": scenario(500, 30)}},
        "ceiling": {"scenarios": {"ceiling_list_posts": scenario(2000, 10)}},
    }
    result = build({10_000: run}, Load(), 10_000)
    # The median of 70%, 30% and 60%, not 500 / 2000; the turns' errors are counted.
    assert (
        final_line(result) == "bench: list_posts 500 req/s = 60% of ceiling; p99 30.0 ms; errors 3"
    )
    assert turns_lines(result) == [turns_line("10000", run["turns"])]


def test_each_round_starts_with_the_contender_after_the_last_round_s_first() -> None:
    orders = [turn_order(["api", "ceiling", "template"], number) for number in range(4)]
    assert orders == [
        ["api", "ceiling", "template"],
        ["ceiling", "template", "api"],
        ["template", "api", "ceiling"],
        ["api", "ceiling", "template"],
    ]


def test_a_run_never_overwrites_an_earlier_one_of_the_same_day(tmp_path: Path) -> None:
    def result(scale: int, marker: int) -> dict[str, Any]:
        return {"date": "2026-11-24T10:00:00+00:00", "scale": scale, "marker": marker}

    written = [
        write(result(10_000, 1), str(tmp_path)),
        write(result(1_000_000, 2), str(tmp_path)),
        write(result(10_000, 3), str(tmp_path)),
        write(result(10_000, 4), str(tmp_path)),
        write(result(1_000_000, 5), str(tmp_path)),
    ]
    assert [path.name for path in written] == [
        "2026-11-24.json",
        "2026-11-24-1000000.json",
        "2026-11-24-2.json",
        "2026-11-24-3.json",
        "2026-11-24-1000000-2.json",
    ]
    assert [json.loads(path.read_text())["marker"] for path in written] == [1, 2, 3, 4, 5]


def test_cpu_per_request_divides_each_side_s_seconds() -> None:
    before, after = CpuSample(server=1.0, postgres=2.0), CpuSample(server=2.5, postgres=2.75)
    assert per_request(before, after, 500) == {"server": 3.0, "postgres": 1.5}
    assert per_request(before, after, 0) is None


def test_cpu_sample_reads_the_server_s_processes() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    busy = subprocess.Popen([sys.executable, "-c", burn + "\ntime.sleep(30)"])  # noqa: S603
    try:
        server = Server(busy, "http://127.0.0.1:1")
        first = sample(server)
        deadline = time.monotonic() + 20
        while sample(server).server - first.server < 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sample(server).server - first.server >= 0.2
    finally:
        busy.kill()
        busy.wait()


def test_a_warm_up_or_a_turn_keeps_the_load_s_connections_and_threads() -> None:
    assert Load(connections=16, threads=1, seconds=10).lasting(2.0) == Load(16, 1, 2.0)
