"""Domain errors and the one handler that renders every error as RFC 9457 problem+json."""

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger("quire.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
NOT_NULL_VIOLATION = "23502"
STRING_TOO_LONG = "22001"
INVALID_TEXT = "22P02"
UNTRANSLATABLE = "22021"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """An error the client caused or must know about; rendered as a problem."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    headers: Mapping[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(DomainError):
    status = HTTPStatus.UNAUTHORIZED
    headers: Mapping[str, str] | None = MappingProxyType({"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT


class InvalidInput(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, detail: str, *, field: str, error_type: str = "value_error") -> None:
        super().__init__(detail)
        self.errors = [FieldError(field=field, message=detail, type=error_type)]


class PayloadTooLarge(DomainError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(DomainError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class ServiceUnavailable(DomainError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


# RFC 9110's names, which this Python's HTTPStatus predates.
RFC9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def title_of(status: int) -> str:
    return RFC9110_TITLES.get(status) or HTTPStatus(status).phrase


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Iterable[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = Problem(
        title=title_of(status),
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route can answer with."""
    return {
        status: {"model": Problem, "description": title_of(status)} for status in (*statuses, 422)
    }


def _field_name(location: Iterable[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return problem_response(
        error.status, error.detail, errors=getattr(error, "errors", None), headers=error.headers
    )


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        FieldError(field=_field_name(item["loc"]), message=item["msg"], type=item["type"])
        for item in error.errors()
    ]
    return problem_response(422, "The request is not valid.", errors=errors)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == HTTPStatus.BAD_REQUEST:
        return _unparsable_body(detail)
    headers = dict(error.headers or {})
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(error.status_code, detail, headers=headers)


def _unparsable_body(detail: str) -> Response:
    """A body the framework cannot parse (its only 400s), answered like malformed JSON."""
    error = FieldError(field="body", message=detail, type="body_invalid")
    return problem_response(422, "The request is not valid.", errors=[error])


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names one route's only."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def _sqlstate(error: DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


async def _database_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DBAPIError)
    state = _sqlstate(error)
    if isinstance(error, IntegrityError) and state == UNIQUE_VIOLATION:
        return problem_response(409, "A resource with the same unique value already exists.")
    if isinstance(error, IntegrityError):
        return problem_response(409, "The change conflicts with existing data.")
    if state in {STRING_TOO_LONG, INVALID_TEXT, UNTRANSLATABLE, CHECK_VIOLATION}:
        return problem_response(422, "A value is not acceptable to the database.")
    if state is not None and state.startswith("40"):
        # A deadlock or serialization failure: the transaction was rolled back whole.
        return problem_response(
            409, "The change collided with a concurrent one and was not applied; retry it."
        )
    if state is None or error.connection_invalidated or state.startswith(("08", "57")):
        logger.warning("database unavailable: %s", type(error.orig).__name__)
        return problem_response(503, "The database is unavailable; try again shortly.")
    logger.exception("database error", exc_info=error)
    return problem_response(500, "An unexpected error occurred.")


async def _connection_error(request: Request, error: Exception) -> Response:
    logger.warning("database unavailable: %s", type(error).__name__)
    return problem_response(503, "The database is unavailable; try again shortly.")


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.error("unhandled error", exc_info=error)
    return problem_response(500, "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ConnectionError, _connection_error)
    app.add_exception_handler(TimeoutError, _connection_error)
    # Every pooled connection stayed busy for pool_timeout: an overload, not a bug.
    app.add_exception_handler(PoolTimeout, _connection_error)
    app.add_exception_handler(OSError, _connection_error)
    app.add_exception_handler(Exception, _unexpected_error)
