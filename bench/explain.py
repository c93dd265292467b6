"""EXPLAIN ANALYZE of the very statements a request of each scenario runs.

One request per scenario goes through the app in-process (httpx over ASGI); the statements
the engine executes are captured with their parameters and explained on the same database.
"""

from typing import Any

import asyncpg
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from api.main import create_app
from api.settings import DatabaseSettings, Settings, SupabaseSettings
from bench.ceiling import PAGE, PAGE_SIZE, TAGS
from bench.scenarios import Request, Scenario
from db.url import asyncpg_arguments

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
EXPLAINED = ("SELECT", "WITH")

Plan = dict[str, Any]


async def explain_api(url: str, secret: str, scenarios: list[Scenario]) -> dict[str, list[Plan]]:
    settings = Settings(
        database=DatabaseSettings(url=url), supabase=SupabaseSettings(jwt_secret=SecretStr(secret))
    )
    app = create_app(settings)
    plans: dict[str, list[Plan]] = {}
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            for scenario in scenarios:
                captured = await _captured(engine, client, scenario.requests[0])
                plans[scenario.name] = [await _explain(engine, *pair) for pair in captured]
    return plans


async def _captured(
    engine: AsyncEngine, client: AsyncClient, request: Request
) -> list[tuple[str, Any]]:
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(EXPLAINED):
            captured.append((statement, parameters))

    headers = {"Authorization": request.authorization} if request.authorization else {}
    if request.body:
        headers["Content-Type"] = "application/json"
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        response = await client.request(
            request.method, request.path, headers=headers, content=request.body or None
        )
        response.raise_for_status()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return captured


async def _explain(engine: AsyncEngine, statement: str, parameters: Any) -> Plan:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(EXPLAIN + statement, parameters)
        return _plan(statement, [row[0] for row in result])


async def explain_ceiling(url: str) -> list[Plan]:
    connection = await asyncpg.connect(**asyncpg_arguments(url))
    try:
        rows = await connection.fetch(EXPLAIN + PAGE, PAGE_SIZE + 1)
        page = await connection.fetch(PAGE, PAGE_SIZE + 1)
        tags = await connection.fetch(EXPLAIN + TAGS, [row["id"] for row in page[:PAGE_SIZE]])
    finally:
        await connection.close()
    return [
        _plan(PAGE, [row[0] for row in rows]),
        _plan(TAGS, [row[0] for row in tags]),
    ]


def _plan(statement: str, lines: list[str]) -> Plan:
    return {"sql": " ".join(statement.split()), "plan": lines}
