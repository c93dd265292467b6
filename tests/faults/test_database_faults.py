"""Database faults: PostgreSQL stopped and started under load, and the API killed mid-write."""

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api.errors import PROBLEM_MEDIA_TYPE, RETRY_AFTER_SECONDS
from tests.faults.conftest import (
    ApiServer,
    FaultDatabase,
    eventually,
    fetch,
    signed_up,
    start_api,
)

# The API promises an answer within 5 s, database or not: a longer wait is a hang.
CLIENT_TIMEOUT = 6.0
# Generous bounds for polling; the assertions are about outcomes, never durations.
DEADLINE = 60.0
LOAD_WORKERS = 4
KILL_WORKERS = 16
ANSWERS_WHILE_DOWN = 20
WRITES_BEFORE_KILL = 10


@dataclass(frozen=True)
class Outcome:
    started: str
    ended: str
    kind: str
    status: int | None
    content_type: str = ""
    retry_after: str | None = None
    error: str | None = None


@dataclass
class MixedLoad:
    """Readers and writers looping against the API, recording each outcome with the phase."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    tag_prefix: str
    phase: str = "up"
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    numbers: "itertools.count[int]" = field(default_factory=itertools.count)

    async def run(self, kinds: tuple[str, ...], stop: asyncio.Event) -> None:
        while not stop.is_set():
            for kind in kinds:
                await self.request(kind)
            await asyncio.sleep(0.01)

    async def request(self, kind: str) -> None:
        started = self.phase
        try:
            response = await self._send(kind)
        except httpx.TransportError as error:
            self.outcomes.append(Outcome(started, self.phase, kind, None, error=repr(error)))
            return
        self.outcomes.append(
            Outcome(
                started,
                self.phase,
                kind,
                response.status_code,
                response.headers.get("content-type", ""),
                response.headers.get("retry-after"),
            )
        )
        if kind == "create" and response.status_code == 201:
            self.acknowledged.append(response.json()["slug"])

    async def _send(self, kind: str) -> httpx.Response:
        if kind == "list":
            return await self.client.get("/api/v1/posts", params={"limit": 20})
        if kind == "tags":
            return await self.client.get("/api/v1/tags")
        if kind == "detail" and self.acknowledged:
            return await self.client.get(f"/api/v1/posts/{self.acknowledged[-1]}")
        if kind == "detail":
            return await self.client.get("/api/v1/posts", params={"limit": 1})
        return await self.client.post("/api/v1/posts", headers=self.headers, json=self.new_post())

    def new_post(self) -> dict[str, object]:
        number = next(self.numbers)
        tags = [f"{self.tag_prefix} {number} {letter}" for letter in "abc"]
        title = f"{self.tag_prefix} {number}"
        return {"title": title, "content": "written under load", "tags": tags, "published": True}

    def count(self, phase: str, status: int | None = None) -> int:
        return sum(
            1
            for o in self.outcomes
            if o.started == phase and o.ended == phase and (status is None or o.status == status)
        )

    def summary(self) -> Counter[tuple[str, str, int | None]]:
        return Counter((o.started, o.kind, o.status) for o in self.outcomes)


def running(
    load: MixedLoad, kinds: tuple[str, ...], workers: int
) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    """Start `workers` loops over `kinds`; set the returned event to stop them."""
    stop = asyncio.Event()
    return stop, [asyncio.create_task(load.run(kinds, stop)) for _ in range(workers)]


async def missing_posts(database_url: str, slugs: list[str]) -> list[str]:
    rows = await fetch(database_url, "SELECT slug FROM posts WHERE slug = ANY($1::text[])", slugs)
    return sorted(set(slugs) - {row["slug"] for row in rows})


async def test_outage_is_reported_then_survived(
    fault_database: FaultDatabase, api: ApiServer
) -> None:
    """Stopped PostgreSQL → fast 503 problems; started again → served, nothing acknowledged lost."""
    headers = await signed_up(fault_database.url)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=CLIENT_TIMEOUT) as client:
        load = MixedLoad(client, headers, "outage")
        stop, workers = running(load, ("list", "create", "detail", "tags"), LOAD_WORKERS)
        try:
            await eventually(
                lambda: load.count("up", 201) >= 10, within=DEADLINE, what="writes served"
            )
            load.phase = "stopping"
            await asyncio.to_thread(fault_database.server.stop)
            load.phase = "down"
            await eventually(
                lambda: load.count("down") >= ANSWERS_WHILE_DOWN,
                within=DEADLINE,
                what="answers while down",
            )
            health_down = await client.get("/health")
            load.phase = "restarting"
            await asyncio.to_thread(fault_database.server.start)
            load.phase = "back"
            await eventually(
                lambda: load.count("back", 201) >= 5 and load.count("back", 200) >= 5,
                within=DEADLINE,
                what="served again",
            )
            health_back = await client.get("/health")
        finally:
            stop.set()
            await asyncio.gather(*workers)
            await asyncio.to_thread(fault_database.server.start)

    assert [o for o in load.outcomes if o.error] == []
    assert {o.status for o in load.outcomes} <= {200, 201, 503}, api.output()
    unavailable = [o for o in load.outcomes if o.status == 503]
    assert all(o.content_type == PROBLEM_MEDIA_TYPE for o in unavailable)
    assert all(o.retry_after == str(RETRY_AFTER_SECONDS) for o in unavailable)
    assert {o.status for o in load.outcomes if o.started == o.ended == "down"} == {503}
    assert health_down.status_code == 503
    assert health_down.json()["database"] == "unavailable"
    assert health_down.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert health_back.json() == {"status": "ok", "database": "ok"}
    assert await missing_posts(fault_database.url, load.acknowledged) == []


POST_TAGS = """
SELECT p.title, coalesce(array_agg(t.name) FILTER (WHERE t.id IS NOT NULL), '{}') AS tags
FROM posts p LEFT JOIN post_tags pt ON pt.post_id = p.id LEFT JOIN tags t ON t.id = pt.tag_id
WHERE p.title LIKE 'killed %' GROUP BY p.id, p.title
"""
LINKS_WITHOUT_POST = (
    "SELECT count(*) FROM post_tags pt LEFT JOIN posts p ON p.id = pt.post_id WHERE p.id IS NULL"
)
TAGS_WITHOUT_POST = """
SELECT t.name FROM tags t WHERE t.name LIKE 'killed %'
AND NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.tag_id = t.id)
"""


async def test_sigkill_mid_write_leaves_only_whole_posts(fault_database: FaultDatabase) -> None:
    """SIGKILL during concurrent creates: each post is stored with all its tags, or not at all."""
    api = await asyncio.to_thread(start_api, fault_database)
    headers = await signed_up(fault_database.url)
    try:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=CLIENT_TIMEOUT) as client:
            load = MixedLoad(client, headers, "killed")
            stop, workers = running(load, ("create",), KILL_WORKERS)
            try:
                await eventually(
                    lambda: load.count("up", 201) >= WRITES_BEFORE_KILL,
                    within=DEADLINE,
                    what="writes served",
                )
                await asyncio.to_thread(api.kill)
                load.phase = "killed"
            finally:
                stop.set()
                await asyncio.gather(*workers)
    finally:
        api.stop()

    assert any(o.error for o in load.outcomes if o.started == "up"), "no write was in flight"
    stored = await fetch(fault_database.url, POST_TAGS)
    assert stored
    for row in stored:
        assert sorted(row["tags"]) == [f"{row['title']} {letter}" for letter in "abc"]
    assert (await fetch(fault_database.url, LINKS_WITHOUT_POST))[0][0] == 0
    assert await fetch(fault_database.url, TAGS_WITHOUT_POST) == []
    assert await missing_posts(fault_database.url, load.acknowledged) == []
