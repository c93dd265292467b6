"""`quire serve` caps the size of a request's head: 431, then the connection closes. What it
cannot parse is a 400 problem, and closes too.

Run against the real server (`python -m api.cli serve`), over raw sockets, since the cap lives
in the HTTP protocol, below the app and out of reach of an ASGI client.
"""

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from api import server as head_limit
from api.middleware import SECURITY_HEADERS
from api.server import MAX_HEAD_BYTES
from tests.faults.conftest import ApiServer, FaultDatabase, running_api

TIMEOUT_SECONDS = 10.0
HEALTH = b"GET /health HTTP/1.1\r\nHost: quire\r\n\r\n"


@pytest.fixture(scope="module")
def server(fault_database: FaultDatabase) -> Iterator[ApiServer]:
    """One server for the module: none of these tests stops it."""
    with running_api(fault_database) as api:
        yield api


def connect(api: ApiServer) -> socket.socket:
    address = urlsplit(api.base_url)
    assert address.hostname is not None
    assert address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=TIMEOUT_SECONDS)


def read_response(connection: socket.socket, buffer: bytearray) -> tuple[int, bytes]:
    """Read one Content-Length response off `buffer` and the socket: (status, body)."""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        assert chunk, f"closed before a response: {bytes(buffer)!r}"
        buffer += chunk
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[: len(head) + 4]
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(fields["content-length"])
    while len(buffer) < length:
        chunk = connection.recv(65536)
        assert chunk, "closed within a response body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return int(lines[0].split(" ")[1]), body


def read_until_closed(connection: socket.socket) -> bytes:
    received = bytearray()
    while chunk := connection.recv(65536):
        received += chunk
    return bytes(received)


def head_of(header_bytes: int) -> bytes:
    """A GET /health whose one extra header makes the head `header_bytes` long, or more."""
    start = b"GET /health HTTP/1.1\r\nHost: quire\r\nX-Padding: "
    padding = max(0, header_bytes - len(start) - 4)
    return start + b"a" * padding + b"\r\n\r\n"


def send_oversized(api: ApiServer, head: bytes) -> bytes:
    """Send `head`, as much of it as the server takes, and return all it answers."""
    with connect(api) as connection:
        # Refused and closed before the client is done, perhaps: what it answered is still read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head)
        return read_until_closed(connection)


def assert_head_too_large(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 431


def assert_healthy(api: ApiServer) -> None:
    with connect(api) as connection:
        connection.sendall(HEALTH)
        assert read_response(connection, bytearray())[0] == 200


@pytest.mark.parametrize("size", [MAX_HEAD_BYTES + 1, 20 * 1024 * 1024], ids=["just-over", "20MB"])
def test_an_oversized_head_is_refused_with_431_and_closed(server: ApiServer, size: int) -> None:
    assert_head_too_large(send_oversized(server, head_of(size)))
    assert_healthy(server)


def test_an_unfinished_head_is_refused_without_waiting_for_its_end(server: ApiServer) -> None:
    """Headers that never end are refused as soon as they pass the limit, a piece at a time."""
    with connect(server) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: quire\r\nX-Padding: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(MAX_HEAD_BYTES // 1024 + 2):
                connection.sendall(b"a" * 1024)
                time.sleep(0.001)
        assert_head_too_large(read_until_closed(connection))
    assert_healthy(server)


def test_a_head_at_the_limit_is_served(server: ApiServer) -> None:
    with connect(server) as connection:
        connection.sendall(head_of(MAX_HEAD_BYTES))
        assert read_response(connection, bytearray())[0] == 200


def test_keep_alive_and_pipelining_still_work(server: ApiServer) -> None:
    """Each request's head counts on its own: together they are far over the limit."""
    requests = MAX_HEAD_BYTES // 10_000 * 3
    big = head_of(10_000)
    with connect(server) as connection:
        buffer = bytearray()
        for _ in range(requests):
            connection.sendall(big)
            assert read_response(connection, buffer)[0] == 200
        connection.sendall(big * requests)
        statuses = [read_response(connection, buffer)[0] for _ in range(requests)]
    assert statuses == [200] * requests


def test_a_later_request_on_a_kept_connection_is_capped_too(server: ApiServer) -> None:
    with connect(server) as connection:
        connection.sendall(HEALTH)
        buffer = bytearray()
        assert read_response(connection, buffer)[0] == 200
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head_of(2 * MAX_HEAD_BYTES))
        assert_head_too_large(bytes(buffer) + read_until_closed(connection))


def test_a_body_is_not_counted_as_head(server: ApiServer) -> None:
    """A body far over the head limit, sent with its head in one write: the app answers it."""
    body = json.dumps({"title": "t", "content": "x" * (4 * MAX_HEAD_BYTES)}).encode()
    head = (
        b"POST /api/v1/posts HTTP/1.1\r\nHost: quire\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with connect(server) as connection:
        connection.sendall(head + body + HEALTH)
        buffer = bytearray()
        assert read_response(connection, buffer)[0] == 401  # no token: the app's own answer
        assert read_response(connection, buffer)[0] == 200


def test_the_refusal_is_a_closing_problem_with_the_security_headers() -> None:
    """The 431 states the documented 64 KiB limit, closes the connection, and carries the
    headers every other answer carries."""
    assert head_limit.MAX_HEAD_BYTES == 64 * 1024
    head, _, body = head_limit.REFUSAL.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
    assert fields[b"connection"] == b"close"
    for name, value in SECURITY_HEADERS:
        assert fields[name] == value
    assert json.loads(body)["detail"] == (
        "The request line and headers are larger than 65536 bytes."
    )


@pytest.mark.parametrize(
    "head",
    [
        b"POST /api/v1/posts HTTP/1.1\r\nHost: quire\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}",
        b"GET /health HTTP/1.1\r\nHost: quire\r\nNo colon here\r\n\r\n",
    ],
    ids=["conflicting-content-length", "malformed-header"],
)
def test_a_request_that_is_not_http_is_a_closing_400_problem(
    server: ApiServer, head: bytes
) -> None:
    """The parser refuses it before the app sees it; the answer is a problem all the same."""
    with connect(server) as connection:
        connection.sendall(head)
        answer = read_until_closed(connection)

    status_line, _, rest = answer.partition(b"\r\n")
    fields_, _, body = rest.partition(b"\r\n\r\n")
    fields = {
        name.lower(): value
        for name, value in (line.split(b": ", 1) for line in fields_.split(b"\r\n"))
    }
    assert status_line == b"HTTP/1.1 400 Bad Request", answer[:200]
    assert fields[b"content-type"] == b"application/problem+json"
    assert fields[b"connection"] == b"close"
    for name, value in SECURITY_HEADERS:
        assert fields[name] == value
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request is not valid HTTP/1.1, and was not read.",
    }
    assert_healthy(server)
