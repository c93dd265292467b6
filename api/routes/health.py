"""Liveness with a database check, for load balancers and `make dev`."""

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import SQLModel

from db.repositories import rows

router = APIRouter(tags=["health"])

DATABASE_CHECK_SECONDS = 3.0
ANSWER = rows.CompiledQuery("SELECT 1", ())


class Health(SQLModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]


async def _database_answers(request: Request) -> bool:
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await rows.fetch(request.app.state.engine, ANSWER, {})
    except Exception:
        return False
    return True


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
)
async def health(request: Request) -> JSONResponse:
    """Report whether the API and its database answer."""
    if await _database_answers(request):
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "degraded", "database": "unavailable"}, status_code=503)
