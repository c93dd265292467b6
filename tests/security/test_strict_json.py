"""Whatever FastAPI parses as JSON has passed the strict-JSON middleware first.

A repeated key or an object of too many keys is refused however the body is encoded and however
its Content-Type is spelled; a body that is not UTF-8 is refused outright (RFC 8259, section
8.1), since Starlette would otherwise decode a BOM or UTF-16/32 that the middleware never saw.
"""

import codecs
import email.message
import json

import pytest
from httpx import AsyncClient, Response

from api.middleware import MAX_OBJECT_KEYS
from tests.conftest import Accounts

POSTS = "/api/v1/posts"
REPEATED = '{"title":"First","content":"x","title":"Second"}'
NOT_UTF8 = {
    "utf-8 with a BOM": codecs.BOM_UTF8 + REPEATED.encode(),
    "utf-16-le": REPEATED.encode("utf-16-le"),
    "utf-16-be": REPEATED.encode("utf-16-be"),
    "utf-32-le": REPEATED.encode("utf-32-le"),
    "utf-32-be": REPEATED.encode("utf-32-be"),
    "utf-16 with a BOM": REPEATED.encode("utf-16"),
    "utf-32 with a BOM": REPEATED.encode("utf-32"),
}
# Media types FastAPI reads as JSON: it parses the header with email.message, which strips
# with str.strip() (NEL, NBSP and the ASCII separators too) and lower-cases.
JSON_SPELLINGS = [
    b"application/json",
    b"application/json\x85",
    b"application/json\xa0",
    b"\xa0application/json",
    b"application/json\x1c",
    b"application/json\x1f",
    b" Application/JSON ; charset=utf-8",
    b"application/json\x85; charset=utf-8",
    b"application/problem+json\xa0",
    b"application/json;",
    b'application/json; charset="utf-8"',
]


def fastapi_reads_as_json(content_type: bytes) -> bool:
    """FastAPI's own test (fastapi.routing), on the header as Starlette decodes it."""
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _post(
    client: AsyncClient, headers: dict[str, str], body: bytes, content_type: bytes
) -> Response:
    raw = {name.encode(): value.encode() for name, value in headers.items()}
    return await client.post(POSTS, content=body, headers={**raw, b"content-type": content_type})


def _error_types(response: Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [error["type"] for error in response.json().get("errors", [])]


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
async def test_every_spelling_of_json_is_checked_for_repeated_keys(
    client: AsyncClient, accounts: Accounts, content_type: bytes
) -> None:
    assert fastapi_reads_as_json(content_type)
    _, headers = await accounts.new()
    response = await _post(client, headers, REPEATED.encode(), content_type)
    assert response.status_code == 422
    assert _error_types(response) == ["json_key"]


@pytest.mark.parametrize("name", NOT_UTF8)
async def test_json_that_is_not_utf8_is_refused(
    client: AsyncClient, accounts: Accounts, name: str
) -> None:
    _, headers = await accounts.new()
    response = await _post(client, headers, NOT_UTF8[name], b"application/json")
    assert response.status_code == 422
    assert _error_types(response) == ["json_encoding"]


async def test_invalid_utf8_is_refused(client: AsyncClient, accounts: Accounts) -> None:
    _, headers = await accounts.new()
    body = b'{"title":"\xff","content":"x"}'
    response = await _post(client, headers, body, b"application/json")
    assert response.status_code == 422
    assert _error_types(response) == ["json_encoding"]


async def test_utf8_json_with_a_charset_is_still_accepted(
    client: AsyncClient, accounts: Accounts
) -> None:
    _, headers = await accounts.new()
    body = json.dumps({"title": "Déjà vu", "content": "x"}, ensure_ascii=False).encode()
    response = await _post(client, headers, body, b"application/json; charset=utf-8")
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Déjà vu"


@pytest.mark.parametrize(
    ("prefix", "content_type", "refusal"),
    [
        (codecs.BOM_UTF8, b"application/json", "json_encoding"),
        (b"", b"application/json\x85", "json_keys"),
    ],
    ids=["bom", "nel-content-type"],
)
async def test_a_huge_object_is_refused_by_the_middleware(
    client: AsyncClient, prefix: bytes, content_type: bytes, refusal: str
) -> None:
    """50,000 keys: refused as the body is read (0.1 s), not key by key by the route (0.7 s,
    the event loop held meanwhile); only the middleware names these refusals."""
    keys = {f"k{n}": 0 for n in range(50 * MAX_OBJECT_KEYS)}
    body = prefix + json.dumps(keys, separators=(",", ":")).encode()
    response = await client.patch(
        "/api/v1/users/me", content=body, headers={b"content-type": content_type}
    )
    assert response.status_code == 422
    assert _error_types(response) == [refusal]


MULTIPART = b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nHi\r\n--b--\r\n'
NOT_JSON = {
    "form data (curl -d)": (b"title=Hi&content=x", b"application/x-www-form-urlencoded"),
    "json as text": (b'{"title":"Hi","content":"x"}', b"text/plain"),
    "a multipart form": (MULTIPART, b"multipart/form-data; boundary=b"),
}


@pytest.mark.parametrize("name", NOT_JSON)
async def test_a_json_body_sent_as_something_else_is_unsupported(
    client: AsyncClient, accounts: Accounts, name: str
) -> None:
    """A 415 that names the media type to send, not a 422 about a "valid dictionary"."""
    body, content_type = NOT_JSON[name]
    _, headers = await accounts.new()
    for response in (
        await _post(client, headers, body, content_type),
        await client.patch(
            "/api/v1/users/me",
            content=body,
            headers={**headers, "content-type": content_type.decode()},
        ),
    ):
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "Content-Type: application/json" in response.json()["detail"]


async def test_json_sent_to_the_upload_is_unsupported(
    client: AsyncClient, accounts: Accounts
) -> None:
    """The avatar upload takes a multipart form: the 415 says so, and names the file's field."""
    _, headers = await accounts.new()
    response = await client.put(
        "/api/v1/users/me/avatar",
        content=b'{"file": "x"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "multipart/form-data" in response.json()["detail"]
    assert "curl -F file=@" in response.json()["detail"]
