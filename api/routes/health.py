"""Liveness with a database check, for load balancers and `make dev`."""

import asyncio
import logging
from typing import Literal

import asyncpg
from fastapi import APIRouter, Request, Response, status
from sqlalchemy.exc import DBAPIError

from api.errors import UNAVAILABLE_HEADERS
from api.schemas.common import ResponseModel
from db.repositories import rows

router = APIRouter(tags=["health"])
logger = logging.getLogger("quire.health")

DATABASE_CHECK_SECONDS = 3.0
ANSWER = rows.CompiledQuery("SELECT 1", ())
# What a database that is down, starting, stopping or out of reach raises; anything else is a
# bug, and answers 500 through the error handlers rather than passing for an outage.
UNAVAILABLE = (DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class Health(ResponseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]


async def _database_answers(request: Request) -> bool:
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await rows.fetch(request.app.state.engine, ANSWER, {})
    except UNAVAILABLE as error:
        logger.warning("health check: the database does not answer: %r", error)
        return False
    return True


@router.get(
    "/health",
    response_model=Health,
    responses={
        503: {
            "model": Health,
            "description": "The database cannot be reached",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
        }
    },
)
async def health(request: Request, response: Response) -> Health:
    """Report whether the API and its database answer."""
    if await _database_answers(request):
        return Health(status="ok", database="ok")
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    response.headers.update(UNAVAILABLE_HEADERS)
    return Health(status="degraded", database="unavailable")
