"""Responses of our own: views encoded by orjson, and files whose errors are problems."""

import uuid
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import Response
from fastapi.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from api.errors import problem_response


class ViewResponse(Response):
    """A page of posts or a post, as the repositories read them, encoded by orjson.

    The route still declares its response model: the OpenAPI document states it, and the tests
    hold every body to be byte for byte what that model would send. Building a page's ~100
    models to validate values the database has just typed, then serializing them, cost 1.8M of
    list_posts' 6.2M instructions per request (`make instructions`); orjson writes the same
    JSON in a tenth of that.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_uuid, option=orjson.OPT_UTC_Z)


def _uuid(value: object) -> str:
    # asyncpg reads UUIDs as its own subclass of uuid.UUID; orjson encodes only the class itself.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ProblemFileResponse(FileResponse):
    """A file whose refusals of a Range header are problem+json, as every other 4xx is, and
    a 404 problem if the file is gone by the time it is opened.

    Starlette's FileResponse answers Range refusals itself, as text/plain (400 for a malformed
    header, 416 for a range past the end of the file), where no exception handler sees them.
    It also sends the response's start before it opens the file: a file removed in between
    would fail the response after its 200 had gone out. The start is held back until the
    first part of the body, so nothing has been sent when the file cannot be opened; once
    open, the file is read to the end even if it is removed meanwhile.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held = _StartHeld(send)
        try:
            await super().__call__(scope, receive, _errors_as_problems(held))
        except (FileNotFoundError, NotADirectoryError):
            if held.sent:
                raise
            await problem_response(HTTPStatus.NOT_FOUND, GONE)(scope, receive, send)


GONE = "The file was removed as it was being read."


class _StartHeld:
    """`send`, with the response's start sent together with the first part of the body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self.sent = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        self.sent = True
        if self._start is not None:
            start, self._start = self._start, None
            await self._send(start)
        await self._send(message)


# Starlette's 416 has no body; the Content-Range it sends says how long the file is.
UNSATISFIABLE_RANGE = (
    "The Range header asks for bytes past the end of the file (see Content-Range)."
)


def _errors_as_problems(send: Send) -> Send:
    """`send`, with an error response's start and body replaced by a problem+json."""
    start: Message | None = None
    body = bytearray()

    async def send_problem_for_errors(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] >= 400:
            start = message
            return
        if start is None:
            await send(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body", False):
            return
        status = HTTPStatus(start["status"])
        kept = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in start["headers"]
            if name.lower() == b"content-range"
        }
        problem = problem_response(status, _detail(status, bytes(body)), headers=kept)
        await send(
            {"type": "http.response.start", "status": int(status), "headers": problem.raw_headers}
        )
        await send({"type": "http.response.body", "body": problem.body})

    return send_problem_for_errors


def _detail(status: HTTPStatus, body: bytes) -> str:
    if body:
        return body.decode("utf-8", "replace")  # Starlette's own words, e.g. for a 400
    if status == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
        return UNSATISFIABLE_RANGE
    return status.phrase
