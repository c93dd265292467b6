"""ASGI middleware: request body cap, strict JSON, security headers, HEAD, CORS problems."""

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.content_types import is_json
from api.errors import FieldError, problem_response

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
# No body Quire accepts comes near it. An object of 100,000 unknown keys (1.3 MB) held the
# event loop for 0.8 s, every other request waiting, while validation refused each key; refused
# here once parsed, it takes 0.13 s.
MAX_OBJECT_KEYS = 1000
# The interactive docs load their own scripts and styles.
DOCS_PATHS = ("/docs", "/redoc")
# Response headers the API sets on purpose, beyond those every browser lets scripts read: the
# new post's address (201), when to retry (503), the scheme to authenticate with (401), the
# methods a path takes (405).
EXPOSED_HEADERS = ("Location", "Retry-After", "WWW-Authenticate", "Allow")
# What each of Starlette's preflight refusals means.
CORS_REFUSALS = {
    "origin": "the origin may not call this API from a browser",
    "method": "the method is not allowed",
    "headers": "a requested header is not allowed",
    "private-network": "private network access is not allowed",
}


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413, whether announced or streamed.

    `path_limits` raises the cap for the few upload paths that need it, and only for them.
    Conflicting Content-Length headers are refused with 400 (RFC 9112, section 6.3): the server
    framed the body by one of them, and which one is unknown here.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.path_limits.get(scope["path"], self.max_bytes)
        declared = set(_header_values(scope, b"content-length"))
        if len(declared) > 1:
            response = problem_response(400, "The request has conflicting Content-Length headers.")
            await response(scope, receive, send)
            return
        if any(not value.isdigit() or int(value) > max_bytes for value in declared):
            await self._reject(scope, receive, send, max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if received > max_bytes:
                # The app's own answer to the cut-off body: FastAPI turns BodyTooLarge into a 400.
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, tracking_send)
        if received > max_bytes and not started:
            await self._reject(scope, receive, send, max_bytes)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem_response(413, f"The request body is larger than {max_bytes} bytes.")
        await response(scope, receive, send)


class StrictJsonMiddleware:
    """Refuse a JSON body that is not UTF-8, or in which an object repeats a key (422), and a
    request whose Content-Type headers disagree (400).

    Parsers disagree on which of two values for one key wins, so a proxy could vet one value
    and the app act on the other: Quire only accepts JSON that means one thing. Two media types
    are the same ambiguity one level up: FastAPI reads the first, other hops may read the last.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_types = (
            set(_header_values(scope, b"content-type")) if scope["type"] == "http" else set()
        )
        if len(content_types) > 1:
            response = problem_response(400, "The request has conflicting Content-Type headers.")
            await response(scope, receive, send)
            return
        if not any(is_json(content_type) for content_type in content_types):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        error = _ambiguity(body)
        if error is not None:
            response = problem_response(422, "The request is not valid.", errors=[error])
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of a header, in order; ASGI servers lower-case the names."""
    return [value for key, value in scope["headers"] if key == name]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then whatever comes next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _RepeatedKey(Exception):
    pass


class _TooManyKeys(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_OBJECT_KEYS:
        raise _TooManyKeys
    unique = dict(pairs)
    if len(unique) != len(pairs):
        raise _RepeatedKey
    return unique


def _ambiguity(body: bytes) -> FieldError | None:
    try:
        json.loads(_utf8(body), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        return FieldError(field="body", message="JSON must be UTF-8.", type="json_encoding")
    except _RepeatedKey:
        return FieldError(field="body", message="An object repeats a key.", type="json_key")
    except _TooManyKeys:
        message = f"An object has more than {MAX_OBJECT_KEYS} keys."
        return FieldError(field="body", message=message, type="json_keys")
    except (ValueError, RecursionError):
        return None  # not JSON at all: the route answers that itself
    return None


def _utf8(body: bytes) -> str:
    """The body as UTF-8 without a BOM (RFC 8259, section 8.1), else UnicodeDecodeError.

    Starlette's json.loads(bytes) also reads a BOM and UTF-16 or UTF-32 (with or without a BOM,
    guessed from the zero bytes): a body it would decode otherwise than here is refused, so what
    FastAPI parses is always what was checked here.
    """
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":
        raise UnicodeDecodeError(encoding, body, 0, len(body), "JSON must be UTF-8")
    return body.decode("utf-8")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(DOCS_PATHS):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class HeadMiddleware:
    """Answer HEAD as GET, without the body (RFC 9110, section 9.3.2).

    FastAPI routes a GET operation for GET alone: HEAD, which load balancers and link checkers
    send, was a 405. The headers are GET's, its Content-Length included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, refusing a preflight with a problem+json like every other 4xx.

    Starlette refuses one with `400 text/plain "Disallowed CORS origin"`; its headers (Vary
    among them) are kept. Only refusals take the extra step: allowed preflights and every other
    request are Starlette's.
    """

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        reasons = [CORS_REFUSALS.get(word, f"{word} is not allowed") for word in refused]
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-type", "content-length")
        }
        detail = f"The CORS preflight request is refused: {'; '.join(reasons)}."
        return problem_response(response.status_code, detail, headers=kept)
