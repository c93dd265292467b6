"""The HTTP protocol `quire serve` runs: uvicorn's httptools one, with a cap on request heads,
answering in problems what it refuses.

httptools buffers a request's head until it is complete, however long it is: without a cap a
20 MB header got a 200, and three connections each sending 100 MB of an unfinished header took
the server from 114 MB to 462 MB of memory, most of it kept after they closed. (uvicorn's h11
protocol has such a cap; its httptools protocol, the faster one, has none.)
"""

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.errors import PROBLEM_MEDIA_TYPE, Problem, title_of
from api.middleware import SECURITY_HEADERS

# The request line and headers together, as most servers count them. A Supabase token and a
# few cookies take a few KiB.
MAX_HEAD_BYTES = 64 * 1024
HEAD_TOO_LARGE = 431
# After the refusal, what the client still sends is read and dropped for at most this long:
# closed with unread data, the socket would be reset, and the client could lose the answer.
LINGER_SECONDS = 2.0


def _raw_problem(status: int, detail: str) -> tuple[bytes, bytes]:
    """An answer written below the app: its status line, and its own headers and body (the
    server's go between). It closes the connection, as the request cannot be read on from."""
    title = title_of(status)
    problem = Problem(title=title, status=status, detail=detail)
    body = problem.model_dump_json(exclude_none=True).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ]
    fields = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return f"HTTP/1.1 {status} {title}\r\n".encode(), fields + b"\r\n" + body


STATUS_LINE, REFUSAL = _raw_problem(
    HEAD_TOO_LARGE, f"The request line and headers are larger than {MAX_HEAD_BYTES} bytes."
)
# What httptools cannot parse: a malformed request line or header, conflicting Content-Length
# headers, a bad chunk. uvicorn would answer it in plain text.
BAD_REQUEST_LINE, UNPARSABLE = _raw_problem(
    400, "The request is not valid HTTP/1.1, and was not read."
)


class HeadLimitedHttpToolsProtocol(HttpToolsProtocol):
    """Answer 431 and close once a request's head passes MAX_HEAD_BYTES.

    The bytes received while a head is incomplete are counted, from the connection's start or
    the end of the previous request to the end of the headers. A read that would pass the limit
    is parsed only up to it: the refusal is exact, and nothing past the limit is buffered. A
    head that begins within the read that ends the previous request (pipelining) is counted
    from the next read: it may pass the limit by what that read held of it, at most.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_bytes = 0
        self._in_head = True
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEAD_BYTES - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        self._received_past_limit(data, room)

    def _received_past_limit(self, data: bytes, room: int) -> None:
        if self._refused:
            return  # lingering: dropped
        self._head_bytes = MAX_HEAD_BYTES
        if room:
            super().data_received(data[:room])
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # the parser refused it and uvicorn answered, or a WebSocket took over
        if self._in_head and self._head_bytes == MAX_HEAD_BYTES:
            self._refuse()
        else:
            # The head ended within the limit: the rest is its body, or the next requests.
            self.data_received(data[room:])

    def _refuse(self) -> None:
        self._refused = True
        if self.cycle is not None and not self.cycle.response_complete:
            # Pipelined behind a request still being answered: an answer now would interleave.
            self.transport.close()
            return
        self.logger.warning("Request refused: head larger than %d bytes.", MAX_HEAD_BYTES)
        self.transport.write(STATUS_LINE + self._default_headers() + REFUSAL)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            # The client's own end of the stream closes the connection sooner.
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """Answer a request httptools could not parse with a problem, and close."""
        self.transport.write(BAD_REQUEST_LINE + self._default_headers() + UNPARSABLE)
        self.transport.close()

    def _default_headers(self) -> bytes:
        """The server's own headers (`date`, `server`), as uvicorn writes them."""
        return b"".join(
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
