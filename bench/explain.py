"""EXPLAIN ANALYZE of the very statements a request of each scenario runs.

One request per scenario goes through the app in-process (httpx over ASGI); the statements
it runs are captured with their parameters and explained on the same database: those that
SQLAlchemy executes from its events, and the reads that run on asyncpg itself
(`db/repositories/rows.py`) from asyncpg's query logger on every connection the request
borrows from the pool.
"""

import asyncio
from typing import Any

import asyncpg
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from api.main import create_app
from api.settings import AppSettings, DatabaseSettings, Settings, SupabaseSettings
from bench.ceiling import PAGE, PAGE_SIZE, TAGS
from bench.scenarios import Request, Scenario
from db.engine import read_connection
from db.url import asyncpg_arguments

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
EXPLAINED = ("SELECT", "WITH")

Plan = dict[str, Any]


async def explain_api(url: str, secret: str, scenarios: list[Scenario]) -> dict[str, list[Plan]]:
    settings = Settings(
        app=AppSettings(environment="local"),
        database=DatabaseSettings(url=url),
        supabase=SupabaseSettings(jwt_secret=SecretStr(secret)),
    )
    app = create_app(settings)
    plans: dict[str, list[Plan]] = {}
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            for scenario in scenarios:
                # The first request may also run asyncpg's type introspection on a new
                # connection: the second runs only what every request runs.
                await _captured(engine, client, scenario.requests[0])
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

    def record_driver(query: asyncpg.connection.LoggedQuery) -> None:
        record(None, None, query.query, query.args)

    def attach(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(record_driver)

    def detach(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.driver_connection.remove_query_logger(record_driver)

    headers = {"Authorization": request.authorization} if request.authorization else {}
    if request.body:
        headers["Content-Type"] = "application/json"
    pool = engine.sync_engine.pool
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    event.listen(pool, "checkout", attach)
    event.listen(pool, "checkin", detach)
    try:
        response = await client.request(
            request.method, request.path, headers=headers, content=request.body or None
        )
        response.raise_for_status()
        # asyncpg calls its query loggers soon after a query returns, not before.
        await asyncio.sleep(0)
    finally:
        event.remove(pool, "checkin", detach)
        event.remove(pool, "checkout", attach)
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return captured


async def _explain(engine: AsyncEngine, statement: str, parameters: Any) -> Plan:
    async with read_connection(engine) as connection:
        rows = await connection.fetch(EXPLAIN + statement, *parameters)
        return _plan(statement, [row[0] for row in rows])


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
