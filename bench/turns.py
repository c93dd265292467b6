"""The run's comparisons, measured in turns: list_posts against the ceiling and the template.

This machine's speed drifts within a run: in one run list_posts ran 14-28% slower than in
the two runs before and the two reads after it 23-33%, on the server and in PostgreSQL
alike, while the template, measured two minutes later, ran faster than in either. A ratio
of two figures taken minutes apart carries that drift. Here the servers compared are up at
once and take turns: `ROUNDS` rounds of `TURN_SECONDS` each, in an order that rotates every
round so that none is always first. A ratio is taken within each round, and the run reports
their median (bench/README.md, "Why turns")."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.load import WARM_UP_SECONDS, Load, LoadResult, drive
from bench.scenarios import Scenario
from bench.servers import Server

T = TypeVar("T")

ROUNDS = 5
TURN_SECONDS = 5.0


@dataclass(frozen=True)
class Contender:
    server: Server
    scenario: Scenario


def take_turns(
    contenders: Sequence[Contender], load: Load, rounds: int = ROUNDS
) -> dict[str, list[LoadResult]]:
    """Each contender's result in each round, after a warm-up of each."""
    turn = load.lasting(TURN_SECONDS)
    for contender in contenders:
        drive(contender.server.base_url, contender.scenario, load.lasting(WARM_UP_SECONDS))
    results: dict[str, list[LoadResult]] = {c.scenario.name: [] for c in contenders}
    for number in range(rounds):
        for contender in turn_order(contenders, number):
            result = drive(contender.server.base_url, contender.scenario, turn)
            results[contender.scenario.name].append(result)
    return results


def turn_order(contenders: Sequence[T], number: int) -> list[T]:
    """Round `number`'s order: the first contender of the round before goes last."""
    shift = number % len(contenders)
    return [*contenders[shift:], *contenders[:shift]]


def summary(results: dict[str, list[LoadResult]]) -> dict[str, Any]:
    """What the run keeps of its turns: requests/s and errors, in round order."""
    return {
        "seconds": TURN_SECONDS,
        "requests_per_second": {
            name: [result.requests_per_second for result in rounds]
            for name, rounds in results.items()
        },
        "errors": sum(result.errors for rounds in results.values() for result in rounds),
    }


def ratios(turns: dict[str, Any], numerator: str, denominator: str) -> list[float]:
    """`numerator`'s requests/s over `denominator`'s, round by round (none without both)."""
    rates = turns["requests_per_second"]
    if numerator not in rates or denominator not in rates:
        return []
    return [a / b for a, b in zip(rates[numerator], rates[denominator], strict=True) if b]
