"""Domain errors and the one handler that renders every error as RFC 9457 problem+json."""

import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.content_types import is_form_data, is_json

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
INTEGRITY_CLASS = "23"
TRANSACTION_ROLLBACK_CLASS = "40"
# Connection exceptions, insufficient resources (too many connections, disk full, out of
# memory), operator intervention (shutdown, starting up): the server, not the request.
UNAVAILABLE_CLASSES = ("08", "53", "57")
# The value itself breaks a rule of the schema, whatever the other rows hold: the request can
# never succeed as sent.
REFUSED_VALUES = frozenset(
    {STRING_TOO_LONG, INVALID_TEXT, UNTRANSLATABLE, CHECK_VIOLATION, NOT_NULL_VIOLATION}
)
# The row clashes with other rows (a duplicate, a row referred to that is gone, a row removed
# that is still referred to): the same request may succeed once they change.
CONFLICTS = {
    UNIQUE_VIOLATION: "A resource with the same unique value already exists.",
    FOREIGN_KEY_VIOLATION: "The change refers to data that no longer exists, or removes data "
    "still referred to.",
}
# A restart, a failover or a burst of connections passes within seconds; retrying sooner
# would only add to the load.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_HEADERS = MappingProxyType({"Retry-After": str(RETRY_AFTER_SECONDS)})
# A client that sends a thousand wrong fields learns from the first few as much as from all of
# them, and listing all would cost the server more than the request cost the client.
MAX_LISTED_ERRORS = 20
# The database driver's package: an OSError raised in its code comes from the database's socket.
DRIVER_MODULE = asyncpg.__name__


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
    errors: list[FieldError] | None = Field(
        default=None,
        description=f"What is wrong with the request, field by field: the first "
        f"{MAX_LISTED_ERRORS} errors found.",
    )
    error_count: int | None = Field(
        default=None,
        description="How many errors were found in all; more than `errors` lists when the "
        "list was cut short.",
    )


class DomainError(Exception):
    """An error the client caused or must know about; rendered as a problem."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    headers: Mapping[str, str] | None = None
    errors: Sequence[FieldError] | None = None

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


class BadGateway(DomainError):
    """A service Quire depends on refused what it was sent: retrying will not help."""

    status = HTTPStatus.BAD_GATEWAY


# RFC 9110's names, which this Python's HTTPStatus predates.
RFC9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def title_of(status: int) -> str:
    return RFC9110_TITLES.get(status) or HTTPStatus(status).phrase


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldError] | None = None,
    error_count: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem+json response; `errors` is cut to its first few, `error_count` counts them all
    (by default, as many as `errors` holds)."""
    listed = None if errors is None else list(errors[:MAX_LISTED_ERRORS])
    count = None if errors is None else (len(errors) if error_count is None else error_count)
    body = Problem(
        title=title_of(status), status=status, detail=detail, errors=listed, error_count=count
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def problem_responses(
    *statuses: int, reads_database: bool = True
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route can answer with: its own, an
    invalid request (422) and, on a route that reads the database, the database out of reach
    (503)."""
    always = (422, 503) if reads_database else (422,)
    return {
        status: {"model": Problem, "description": title_of(status)}
        for status in (*statuses, *always)
    }


def _field_name(location: Iterable[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return problem_response(error.status, error.detail, errors=error.errors, headers=error.headers)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    found = error.errors()
    if wrong_media_type := _wrong_media_type(request, found):
        return problem_response(415, wrong_media_type)
    # Only the errors listed are converted: a body of 100,000 unknown keys has as many errors.
    listed = [
        FieldError(field=_field_name(item["loc"]), message=item["msg"], type=item["type"])
        for item in found[:MAX_LISTED_ERRORS]
    ]
    return problem_response(422, "The request is not valid.", errors=listed, error_count=len(found))


def _wrong_media_type(request: Request, errors: Sequence[Any]) -> str | None:
    """What to send instead, when a body error comes from a body of another media type.

    A JSON route sent form data (curl's `-d`), text or a file upload reads it as bytes or a
    form, and an upload sent raw bytes or JSON reads an empty form: FastAPI's errors ("Input
    should be a valid dictionary…", "Field required") say nothing of the media type.
    """
    content_type = request.headers.get("content-type")
    if file_field := _file_field(request):
        sent_a_form = content_type is not None and is_form_data(content_type)
        if sent_a_form or not _has_body(request):
            return None
        return (
            "This endpoint takes a multipart/form-data body: "
            f"send the file as its {file_field!r} field (curl -F {file_field}=@file)."
        )
    if content_type is None or is_json(content_type.encode("latin-1")):
        return None
    if not any(tuple(item["loc"]) == ("body",) for item in errors):
        return None
    return "This endpoint takes a JSON body: send it with Content-Type: application/json."


def _file_field(request: Request) -> str | None:
    """The form field in which the request's route takes a file, if it takes one."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    fields = route.dependant.body_params
    return next((f.alias for f in fields if isinstance(f.field_info, params.File)), None)


def _has_body(request: Request) -> bool:
    # A request without a body lacks the file, which its 422 says; one with a body sent it
    # as something else than a form (`curl -T`, `--data-binary`, with or without a type).
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


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
    state = _sqlstate(error) or ""
    # Before the integrity branch: SQLAlchemy makes CHECK and NOT NULL violations IntegrityErrors.
    if state in REFUSED_VALUES:
        return problem_response(422, "A value is not acceptable to the database.")
    if state.startswith(INTEGRITY_CLASS) or isinstance(error, IntegrityError):
        return problem_response(
            409, CONFLICTS.get(state, "The change conflicts with existing data.")
        )
    if state.startswith(TRANSACTION_ROLLBACK_CLASS):
        # A deadlock or serialization failure: the transaction was rolled back whole.
        return problem_response(
            409, "The change collided with a concurrent one and was not applied; retry it."
        )
    if state.startswith(UNAVAILABLE_CLASSES) or _connection_broken(error):
        return _unavailable(f"{type(error.orig).__name__} {state}".strip())
    logger.exception("database error", exc_info=error)
    return problem_response(500, "An unexpected error occurred.")


def _connection_broken(error: DBAPIError) -> bool:
    """Whether the connection is gone or left unusable, rather than misused (another operation
    in progress, an argument of the wrong type: bugs). Neither kind of driver error carries a
    SQLSTATE.

    On a closed connection asyncpg raises InterfaceError("... connection is closed"), the words
    SQLAlchemy's own disconnect check looks for. A server shutting down sends idle connections
    an error before closing them; one lent in between fails its next statement with an
    InternalClientError ("cannot switch to state 12; another operation (2) is in progress").
    """
    # SQLAlchemy's adapter raises its own error from asyncpg's; db.repositories.rows, asyncpg's.
    driver_errors = (error.orig, getattr(error.orig, "__cause__", None))
    return (
        error.connection_invalidated
        or "connection is closed" in str(error.orig)
        or any(isinstance(cause, asyncpg.InternalClientError) for cause in driver_errors)
    )


def _unavailable(cause: str) -> Response:
    logger.warning("database unavailable: %s", cause)
    return problem_response(
        503, "The database is unavailable; try again shortly.", headers=UNAVAILABLE_HEADERS
    )


async def _connection_error(request: Request, error: Exception) -> Response:
    return _unavailable(type(error).__name__)


async def _os_error(request: Request, error: Exception) -> Response:
    """The driver's OSErrors are the database unreachable; any other (a file) is a bug.

    Told apart by where they were raised, not by type: a server down behind a Unix socket
    makes the driver raise FileNotFoundError, a name that does not resolve socket.gaierror.
    """
    if _raised_in_driver(error):
        return _unavailable(type(error).__name__)
    return await _unexpected_error(request, error)


def _raised_in_driver(error: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).partition(".")[0] == DRIVER_MODULE
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


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
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected_error)
