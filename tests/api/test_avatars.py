"""Avatars: sniffed from their bytes, stored in Supabase Storage (a stand-in on loopback here)
or in the local media folder, which the API serves itself."""

import asyncio
import json
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx import ASGITransport, AsyncClient, Response
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool
from storage3.exceptions import StorageApiError

from api import storage as avatar_storage
from api.main import create_app
from api.routes import avatars
from api.settings import Settings, SupabaseSettings
from api.storage import MAX_AVATAR_BYTES, SupabaseAvatarStore
from tests.api.races import register, wait_for_lock_waits
from tests.conftest import APP_TABLES, settings_for
from tests.support import (
    LoopbackServer,
    bearer,
    create_account,
    make_token,
    override_session,
    serve_app,
)

AVATAR = "/api/v1/users/me/avatar"
PROFILE = "/api/v1/users/me/profile"
PUBLIC_URL = "http://quire.test"
PROJECT_SECRET = "a-supabase-project-jwt-secret-for-the-avatar-tests"
SERVICE_ROLE_KEY = "service-role-key-of-the-storage-stand-in"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A valid one-pixel grey PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + _chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP_DATA = b"VP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
WEBP = b"RIFF" + struct.pack("<I", 4 + len(WEBP_DATA)) + b"WEBP" + WEBP_DATA
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00;"
IMAGES = {"png": (png(), "image/png"), "jpeg": (JPEG, "image/jpeg"), "webp": (WEBP, "image/webp")}


@dataclass(frozen=True)
class Upload:
    key: str
    content: bytes
    content_type: str
    upsert: str | None
    authorization: str | None


class StorageStandIn(LoopbackServer):
    """A stand-in for Supabase Storage's object API, served over real HTTP on 127.0.0.1.

    It answers uploads, deletes and public reads as Storage does, and records the uploads.
    """

    def __init__(self, bucket: str = "avatars") -> None:
        self.bucket = bucket
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.uploads: list[Upload] = []
        self.deleted: list[str] = []
        super().__init__(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in.upload(self)

            def do_DELETE(self) -> None:
                stand_in.delete(self)

            def do_GET(self) -> None:
                stand_in.read(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        return Handler

    def upload(self, request: BaseHTTPRequestHandler) -> None:
        """POST /storage/v1/object/{bucket}/{key}, a multipart form with the file."""
        bucket, _, key = request.path.removeprefix("/storage/v1/object/").partition("/")
        if refusal := self._refusal(request, bucket):
            self._answer(request, 400, refusal)
            return
        form = _multipart(request)
        file = next(part for part in form.iter_parts() if _field(part) == "file")
        upsert = request.headers.get("x-upsert")
        if key in self.objects and upsert != "true":
            self._answer(request, 400, _error("409", "Duplicate", "The resource already exists"))
            return
        content = file.get_payload(decode=True)
        assert isinstance(content, bytes)
        authorization = request.headers.get("authorization")
        self.uploads.append(Upload(key, content, file.get_content_type(), upsert, authorization))
        self.objects[key] = (content, file.get_content_type())
        self._answer(request, 200, {"Id": str(uuid.uuid4()), "Key": f"{bucket}/{key}"})

    def delete(self, request: BaseHTTPRequestHandler) -> None:
        """DELETE /storage/v1/object/{bucket} with {"prefixes": [keys]}."""
        bucket = request.path.removeprefix("/storage/v1/object/")
        if refusal := self._refusal(request, bucket):
            self._answer(request, 400, refusal)
            return
        keys = json.loads(request.rfile.read(int(request.headers["content-length"])))["prefixes"]
        removed = [key for key in keys if self.objects.pop(key, None) is not None]
        self.deleted.extend(removed)
        self._answer(request, 200, [{"name": key, "bucket_id": bucket} for key in removed])

    def read(self, request: BaseHTTPRequestHandler) -> None:
        """GET /storage/v1/object/public/{bucket}/{key}, as a public bucket serves it."""
        key = request.path.removeprefix(f"/storage/v1/object/public/{self.bucket}/")
        if key not in self.objects:
            self._answer(request, 400, _error("404", "not_found", "Object not found"))
            return
        content, content_type = self.objects[key]
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def _refusal(self, request: BaseHTTPRequestHandler, bucket: str) -> dict[str, str] | None:
        if request.headers.get("authorization") != f"Bearer {SERVICE_ROLE_KEY}":
            return _error("403", "Unauthorized", "invalid signature")
        if bucket != self.bucket:
            return _error("404", "Bucket not found", "Bucket not found")
        return None

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def _error(status: str, error: str, message: str) -> dict[str, str]:
    return {"statusCode": status, "error": error, "message": message}


def _multipart(request: BaseHTTPRequestHandler) -> EmailMessage:
    body = request.rfile.read(int(request.headers["content-length"]))
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    return BytesParser(EmailMessage, policy=HTTP).parsebytes(head + body)


def _field(part: MIMEPart) -> str | None:
    name = part.get_param("name", header="content-disposition")
    return name if isinstance(name, str) else None


def avatar_settings(database_url: str, media_dir: Path, supabase_url: str | None) -> Settings:
    settings = settings_for(database_url)
    app = settings.app.model_copy(update={"media_dir": media_dir, "public_url": PUBLIC_URL})
    supabase = SupabaseSettings(
        url=supabase_url,
        jwt_secret=SecretStr(PROJECT_SECRET),
        service_role_key=SecretStr(SERVICE_ROLE_KEY) if supabase_url else None,
    )
    return settings.model_copy(update={"app": app, "supabase": supabase})


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def local(
    database_url: str, session: AsyncSession, media_dir: Path
) -> AsyncIterator[AsyncClient]:
    """The app with no Supabase project: avatars go to the local media folder."""
    async with serve_app(
        avatar_settings(database_url, media_dir, None), session, PUBLIC_URL
    ) as client:
        yield client


@pytest.fixture
async def live_local(
    database_url: str, engine: AsyncEngine, media_dir: Path
) -> AsyncIterator[AsyncClient]:
    """The local-folder app with its own sessions and real commits, for races; cleaned after."""
    app = create_app(avatar_settings(database_url, media_dir, None))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=PUBLIC_URL) as client,
    ):
        yield client
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {APP_TABLES}, auth.users CASCADE"))


@pytest.fixture
def storage() -> Iterator[StorageStandIn]:
    with StorageStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def hosted(
    database_url: str, session: AsyncSession, media_dir: Path, storage: StorageStandIn
) -> AsyncIterator[AsyncClient]:
    """The app with a Supabase project whose Storage is the stand-in."""
    settings = avatar_settings(database_url, media_dir, storage.url)
    async with serve_app(settings, session, PUBLIC_URL) as client:
        yield client


async def sign_up(
    session: AsyncSession, issuer: str | None = None
) -> tuple[uuid.UUID, dict[str, str]]:
    email = f"avatar-{uuid.uuid4().hex[:8]}@example.com"
    account_id = await create_account(session, email)
    await session.commit()  # outlives a refused request's rollback; the test still rolls back
    claims = {"iss": f"{issuer}/auth/v1"} if issuer else {}
    return account_id, bearer(make_token(account_id, email, secret=PROJECT_SECRET, **claims))


async def put_avatar(
    client: AsyncClient,
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str = "me.png",
    declared: str = "image/png",
) -> Response:
    return await client.put(AVATAR, files={"file": (filename, content, declared)}, headers=headers)


def assert_problem(response: Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def local_file(media_dir: Path, url: str) -> Path:
    return media_dir / "avatars" / url.removeprefix(f"{PUBLIC_URL}/media/avatars/")


async def stored_names(media_dir: Path, user_id: uuid.UUID) -> list[str]:
    folder = media_dir / "avatars" / str(user_id)
    return await asyncio.to_thread(lambda: sorted(path.name for path in folder.iterdir()))


@pytest.mark.parametrize("kind", IMAGES.keys())
async def test_local_avatar_is_stored_and_served(
    local: AsyncClient, session: AsyncSession, media_dir: Path, kind: str
) -> None:
    content, media_type = IMAGES[kind]
    user_id, headers = await sign_up(session)
    # The declared type is ignored: the bytes decide.
    response = await put_avatar(local, headers, content, declared="application/octet-stream")
    assert response.status_code == 200, response.text
    url = response.json()["avatar_url"]
    assert url.startswith(f"{PUBLIC_URL}/media/avatars/{user_id}/")
    assert local_file(media_dir, url).read_bytes() == content
    served = await local.get(url)
    assert served.status_code == 200
    assert served.content == content
    assert served.headers["content-type"] == media_type
    me = await local.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"]["avatar_url"] == url


@pytest.mark.parametrize(
    ("byte_range", "status", "detail"),
    [
        ("bytes=abc", 400, "Range header: range must be requested"),
        ("bytes=5-1", 400, "Range header: start must be less than end"),
        ("bytes=999999-", 416, "past the end of the file"),
    ],
    ids=["malformed", "backwards", "past the end"],
)
async def test_a_bad_range_on_a_local_avatar_is_a_problem(
    local: AsyncClient, session: AsyncSession, byte_range: str, status: int, detail: str
) -> None:
    """Starlette answers these itself, in text/plain; the API's clients get problem+json."""
    _, headers = await sign_up(session)
    url = (await put_avatar(local, headers, png())).json()["avatar_url"]
    response = await local.get(url, headers={"Range": byte_range})
    assert_problem(response, status)
    assert detail in response.json()["detail"]
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(png())}"


async def test_a_range_of_a_local_avatar_is_served(
    local: AsyncClient, session: AsyncSession
) -> None:
    _, headers = await sign_up(session)
    url = (await put_avatar(local, headers, png())).json()["avatar_url"]
    response = await local.get(url, headers={"Range": "bytes=0-7"})
    assert response.status_code == 206
    assert response.content == png()[:8]


async def test_a_new_local_avatar_replaces_the_old_file(
    local: AsyncClient, session: AsyncSession
) -> None:
    _, headers = await sign_up(session)
    first = (await put_avatar(local, headers, png())).json()["avatar_url"]
    second = (await put_avatar(local, headers, JPEG, filename="me.jpg")).json()["avatar_url"]
    assert first != second
    assert (await local.get(second)).status_code == 200
    assert_problem(await local.get(first), 404)


async def test_concurrent_replacements_never_delete_the_avatar_the_profile_keeps(
    live_local: AsyncClient, engine: AsyncEngine, media_dir: Path
) -> None:
    """A replaces the current image X while X is uploaded again: whichever commits last, its
    image is still there, and the one it replaced is gone."""
    [(user_id, email)] = await register(engine)
    headers = bearer(make_token(user_id, email, secret=PROJECT_SECRET))
    current = await put_avatar(live_local, headers, JPEG, filename="me.jpg")
    assert current.status_code == 200, current.text
    async with engine.connect() as holder:
        transaction = await holder.begin()
        # The uploads store their image, then wait here, to be let through in this order.
        lock = "SELECT 1 FROM user_profiles WHERE user_id = :id FOR UPDATE"
        await holder.execute(text(lock), {"id": user_id})
        replace = asyncio.create_task(put_avatar(live_local, headers, png()))
        await wait_for_lock_waits(holder, 1)
        restore = asyncio.create_task(put_avatar(live_local, headers, JPEG, filename="me.jpg"))
        await wait_for_lock_waits(holder, 2)
        await transaction.rollback()
    assert [(await upload).status_code for upload in (replace, restore)] == [200, 200]
    me = await live_local.get("/api/v1/users/me", headers=headers)
    kept = me.json()["profile"]["avatar_url"]
    assert kept == (await restore).json()["avatar_url"]
    served = await live_local.get(kept)
    assert served.status_code == 200
    assert served.content == JPEG
    assert await stored_names(media_dir, user_id) == [kept.rpartition("/")[2]]


async def test_an_upload_leaves_another_users_local_avatar_alone(
    local: AsyncClient, session: AsyncSession, media_dir: Path
) -> None:
    _, owner = await sign_up(session)
    _, other = await sign_up(session)
    theirs = (await put_avatar(local, owner, png())).json()["avatar_url"]
    # An avatar URL is public, and the profile route takes any http(s) URL.
    claimed = await local.put(PROFILE, json={"avatar_url": theirs}, headers=other)
    assert claimed.status_code == 200, claimed.text
    assert (await put_avatar(local, other, JPEG, filename="me.jpg")).status_code == 200
    assert await asyncio.to_thread(local_file(media_dir, theirs).is_file)
    assert (await local.get(theirs)).status_code == 200


@pytest.mark.parametrize(
    "replacement", [None, "https://cdn.example.com/me.png"], ids=["cleared", "external url"]
)
async def test_a_profile_update_away_from_a_local_avatar_removes_the_file(
    local: AsyncClient, session: AsyncSession, media_dir: Path, replacement: str | None
) -> None:
    _, headers = await sign_up(session)
    url = (await put_avatar(local, headers, png())).json()["avatar_url"]
    response = await local.put(PROFILE, json={"avatar_url": replacement}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["avatar_url"] == replacement
    assert not await asyncio.to_thread(local_file(media_dir, url).exists)
    assert_problem(await local.get(url), 404)


async def test_a_profile_update_that_keeps_the_avatar_keeps_the_file(
    local: AsyncClient, session: AsyncSession, media_dir: Path
) -> None:
    _, headers = await sign_up(session)
    url = (await put_avatar(local, headers, png())).json()["avatar_url"]
    for body in [{"bio": "Only the bio"}, {"avatar_url": url}, {}]:
        response = await local.put(PROFILE, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["avatar_url"] == url
    assert await asyncio.to_thread(local_file(media_dir, url).is_file)
    assert (await local.get(url)).status_code == 200


async def test_a_profile_update_never_removes_another_users_local_avatar(
    local: AsyncClient, session: AsyncSession, media_dir: Path
) -> None:
    """Pointing a profile at someone else's image, then away from it, leaves the image alone."""
    _, owner = await sign_up(session)
    _, other = await sign_up(session)
    theirs = (await put_avatar(local, owner, png())).json()["avatar_url"]
    for avatar_url in [theirs, "https://cdn.example.com/me.png", theirs, None]:
        response = await local.put(PROFILE, json={"avatar_url": avatar_url}, headers=other)
        assert response.status_code == 200, response.text
    assert await asyncio.to_thread(local_file(media_dir, theirs).is_file)
    assert (await local.get(theirs)).status_code == 200


async def test_clearing_the_avatar_while_an_upload_waits_removes_every_image(
    live_local: AsyncClient, engine: AsyncEngine, media_dir: Path
) -> None:
    """An upload and a clearing wait for the profile, in that order: the clearing removes the
    image the upload stored, not the one the profile pointed to when the clearing began."""
    [(user_id, email)] = await register(engine)
    headers = bearer(make_token(user_id, email, secret=PROJECT_SECRET))
    assert (await put_avatar(live_local, headers, JPEG, filename="me.jpg")).status_code == 200
    async with engine.connect() as holder:
        transaction = await holder.begin()
        lock = "SELECT 1 FROM user_profiles WHERE user_id = :id FOR UPDATE"
        await holder.execute(text(lock), {"id": user_id})
        upload = asyncio.create_task(put_avatar(live_local, headers, png()))
        await wait_for_lock_waits(holder, 1)
        clear = asyncio.create_task(
            live_local.put(PROFILE, json={"avatar_url": None}, headers=headers)
        )
        await wait_for_lock_waits(holder, 2)
        await transaction.rollback()
    assert [(await request).status_code for request in (upload, clear)] == [200, 200]
    me = await live_local.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"]["avatar_url"] is None
    assert await stored_names(media_dir, user_id) == []


async def test_an_upload_whose_profile_write_fails_leaves_no_file(
    live_local: AsyncClient, engine: AsyncEngine, media_dir: Path
) -> None:
    """The image is stored, then the wait for the profile's lock is cancelled: the new image
    goes, the one the profile still points to stays."""
    [(user_id, email)] = await register(engine)
    headers = bearer(make_token(user_id, email, secret=PROJECT_SECRET))
    kept = (await put_avatar(live_local, headers, JPEG, filename="me.jpg")).json()["avatar_url"]
    async with engine.connect() as holder:
        transaction = await holder.begin()
        lock = "SELECT 1 FROM user_profiles WHERE user_id = :id FOR UPDATE"
        await holder.execute(text(lock), {"id": user_id})
        upload = asyncio.create_task(put_avatar(live_local, headers, png()))
        await wait_for_lock_waits(holder, 1)
        cancel = (
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        await holder.execute(text(cancel))
        response = await upload
        await transaction.rollback()
    assert_problem(response, 503)
    assert await stored_names(media_dir, user_id) == [kept.rpartition("/")[2]]
    me = await live_local.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"]["avatar_url"] == kept


async def test_an_upload_whose_commit_fails_leaves_no_file(
    local: AsyncClient,
    session: AsyncSession,
    media_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commit comes after the route has returned, in the session dependency."""
    user_id, headers = await sign_up(session)
    kept = (await put_avatar(local, headers, JPEG, filename="me.jpg")).json()["avatar_url"]

    async def connection_lost() -> None:
        raise ConnectionResetError("the connection dropped during COMMIT")

    with monkeypatch.context() as patched:
        patched.setattr(session, "commit", connection_lost)
        assert_problem(await put_avatar(local, headers, png()), 503)
    assert await stored_names(media_dir, user_id) == [kept.rpartition("/")[2]]
    me = await local.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"]["avatar_url"] == kept


async def test_an_avatar_removed_while_it_is_read_is_a_404(
    local: AsyncClient, session: AsyncSession, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its owner replaces it as someone views it: the file goes after the route has looked it
    up, before the response reads it."""
    _, headers = await sign_up(session)
    url = (await put_avatar(local, headers, png())).json()["avatar_url"]
    stored = local_file(media_dir, url)

    async def then_removed(function: Callable[..., object], *args: object) -> object:
        found = await run_in_threadpool(function, *args)
        await asyncio.to_thread(stored.unlink)
        return found

    monkeypatch.setattr(avatars, "run_in_threadpool", then_removed)
    for method in ("GET", "HEAD"):
        await asyncio.to_thread(stored.write_bytes, png())
        response = await local.request(method, url)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "immutable" not in response.headers.get("cache-control", "")


async def test_an_avatar_of_exactly_the_limit_is_accepted(
    local: AsyncClient, session: AsyncSession
) -> None:
    _, headers = await sign_up(session)
    content = png().ljust(MAX_AVATAR_BYTES, b"\x00")
    response = await put_avatar(local, headers, content)
    assert response.status_code == 200, response.text
    assert (await local.get(response.json()["avatar_url"])).content == content


async def test_supabase_avatar_goes_to_the_storage_bucket(
    hosted: AsyncClient, session: AsyncSession, storage: StorageStandIn, media_dir: Path
) -> None:
    user_id, headers = await sign_up(session, issuer=storage.url)
    response = await put_avatar(hosted, headers, WEBP, declared="image/png")
    assert response.status_code == 200, response.text
    [upload] = storage.uploads
    assert upload.key.startswith(f"{user_id}/")
    assert upload.key.endswith(".webp")
    assert upload.content == WEBP
    assert upload.content_type == "image/webp"
    assert upload.upsert == "true"
    assert upload.authorization == f"Bearer {SERVICE_ROLE_KEY}"
    url = response.json()["avatar_url"]
    assert url == f"{storage.url}/storage/v1/object/public/avatars/{upload.key}"
    async with httpx.AsyncClient() as public:
        served = await public.get(url)
    assert served.content == WEBP
    assert served.headers["content-type"] == "image/webp"
    assert not await asyncio.to_thread(media_dir.exists), "nothing is written locally"


async def test_the_storage_client_is_closed_when_the_app_stops(
    database_url: str, session: AsyncSession, media_dir: Path, storage: StorageStandIn
) -> None:
    app = create_app(avatar_settings(database_url, media_dir, storage.url))
    override_session(app, session)
    _, headers = await sign_up(session, issuer=storage.url)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=PUBLIC_URL) as client,
    ):
        assert (await put_avatar(client, headers, WEBP)).status_code == 200
        store = app.state.avatar_store
        assert isinstance(store, SupabaseAvatarStore)
        assert not store.http_client.is_closed
    assert store.http_client.is_closed


async def test_a_new_supabase_avatar_removes_the_old_object(
    hosted: AsyncClient, session: AsyncSession, storage: StorageStandIn
) -> None:
    _, headers = await sign_up(session, issuer=storage.url)
    assert (await put_avatar(hosted, headers, png())).status_code == 200
    assert (await put_avatar(hosted, headers, JPEG)).status_code == 200
    first, second = (upload.key for upload in storage.uploads)
    assert storage.deleted == [first]
    assert list(storage.objects) == [second]


async def test_an_upload_leaves_another_users_supabase_avatar_alone(
    hosted: AsyncClient, session: AsyncSession, storage: StorageStandIn
) -> None:
    _, owner = await sign_up(session, issuer=storage.url)
    _, other = await sign_up(session, issuer=storage.url)
    theirs = (await put_avatar(hosted, owner, png())).json()["avatar_url"]
    claimed = await hosted.put(PROFILE, json={"avatar_url": theirs}, headers=other)
    assert claimed.status_code == 200, claimed.text
    assert (await put_avatar(hosted, other, JPEG)).status_code == 200
    their_key, my_key = (upload.key for upload in storage.uploads)
    assert storage.deleted == []
    assert set(storage.objects) == {their_key, my_key}


async def test_clearing_a_supabase_avatar_removes_the_object(
    hosted: AsyncClient, session: AsyncSession, storage: StorageStandIn
) -> None:
    _, headers = await sign_up(session, issuer=storage.url)
    assert (await put_avatar(hosted, headers, png())).status_code == 200
    [upload] = storage.uploads
    response = await hosted.put(PROFILE, json={"avatar_url": None}, headers=headers)
    assert response.status_code == 200, response.text
    assert storage.deleted == [upload.key]
    assert storage.objects == {}


async def test_a_profile_update_never_removes_another_users_supabase_avatar(
    hosted: AsyncClient, session: AsyncSession, storage: StorageStandIn
) -> None:
    _, owner = await sign_up(session, issuer=storage.url)
    _, other = await sign_up(session, issuer=storage.url)
    theirs = (await put_avatar(hosted, owner, png())).json()["avatar_url"]
    for avatar_url in [theirs, "https://cdn.example.com/me.png", theirs, None]:
        response = await hosted.put(PROFILE, json={"avatar_url": avatar_url}, headers=other)
        assert response.status_code == 200, response.text
    [upload] = storage.uploads
    assert storage.deleted == []
    assert list(storage.objects) == [upload.key]


async def test_a_bucket_that_refuses_the_image_is_a_502_and_keeps_the_profile(
    database_url: str, session: AsyncSession, media_dir: Path, storage: StorageStandIn
) -> None:
    """No such bucket (or a size or type it does not allow): retrying would not help."""
    storage.bucket = "some-other-bucket"
    settings = avatar_settings(database_url, media_dir, storage.url)
    async with serve_app(settings, session, PUBLIC_URL) as client:
        _, headers = await sign_up(session, issuer=storage.url)
        response = await put_avatar(client, headers, png())
        assert_problem(response, 502)
        assert "retry-after" not in response.headers
        me = await client.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"] is None


async def test_storage_out_of_reach_is_a_503_and_keeps_the_profile(
    database_url: str, session: AsyncSession, media_dir: Path
) -> None:
    down = StorageStandIn()
    down.start()
    down.stop()
    settings = avatar_settings(database_url, media_dir, down.url)
    async with serve_app(settings, session, PUBLIC_URL) as client:
        _, headers = await sign_up(session, issuer=down.url)
        assert_problem(await put_avatar(client, headers, png()), 503)
        me = await client.get("/api/v1/users/me", headers=headers)
    assert me.json()["profile"] is None


@pytest.mark.parametrize(
    ("content", "filename", "declared"),
    [
        (GIF, "me.gif", "image/gif"),
        (b"just some text\n", "me.png", "image/png"),
        (b"", "me.png", "image/png"),
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>", "me.png", "image/png"),
        (
            b"RIFF" + struct.pack("<I", 4 + len(WEBP_DATA)) + b"AVI " + WEBP_DATA,
            "me.webp",
            "image/webp",
        ),
    ],
    ids=["gif", "text named .png", "empty", "png signature alone", "riff but not webp"],
)
async def test_anything_but_png_jpeg_webp_is_415(
    local: AsyncClient, session: AsyncSession, content: bytes, filename: str, declared: str
) -> None:
    _, headers = await sign_up(session)
    response = await put_avatar(local, headers, content, filename=filename, declared=declared)
    assert_problem(response, 415)


@pytest.mark.parametrize(
    "declared",
    ["image/png", "application/octet-stream", "application/x-www-form-urlencoded", None],
    ids=["image", "octet stream", "urlencoded", "no type (curl -T)"],
)
async def test_an_image_sent_as_the_whole_body_is_415(
    local: AsyncClient, session: AsyncSession, declared: str | None
) -> None:
    """`curl --data-binary @me.png`: the 415 says to send a form, not that a field is missing."""
    _, headers = await sign_up(session)
    typed = {} if declared is None else {"content-type": declared}
    response = await local.put(AVATAR, content=png(), headers={**headers, **typed})
    assert_problem(response, 415)
    assert "multipart/form-data" in response.json()["detail"]
    assert "'file' field" in response.json()["detail"]


async def test_an_upload_without_a_body_is_422(local: AsyncClient, session: AsyncSession) -> None:
    """Nothing sent: the file is missing, which the 422 says."""
    _, headers = await sign_up(session)
    response = await local.put(AVATAR, headers=headers)
    assert_problem(response, 422)
    assert [error["field"] for error in response.json()["errors"]] == ["file"]


async def test_a_form_without_the_file_field_is_422(
    local: AsyncClient, session: AsyncSession
) -> None:
    """The right media type with the wrong field: the error names the field."""
    _, headers = await sign_up(session)
    response = await local.put(AVATAR, files={"image": ("me.png", png())}, headers=headers)
    assert_problem(response, 422)
    assert [error["field"] for error in response.json()["errors"]] == ["file"]


async def test_an_image_over_2_mb_is_413(local: AsyncClient, session: AsyncSession) -> None:
    _, headers = await sign_up(session)
    content = png().ljust(MAX_AVATAR_BYTES + 1, b"\x00")
    response = await put_avatar(local, headers, content)
    assert_problem(response, 413)
    assert response.json()["detail"] == f"An avatar may be at most {MAX_AVATAR_BYTES} bytes."


async def test_a_body_over_the_upload_cap_is_413(local: AsyncClient, session: AsyncSession) -> None:
    _, headers = await sign_up(session)
    response = await put_avatar(local, headers, png() + bytes(3 * 1024 * 1024))
    assert_problem(response, 413)
    assert response.json()["detail"].startswith("The request body is larger than")


async def test_the_larger_cap_is_for_the_avatar_route_only(
    local: AsyncClient, session: AsyncSession
) -> None:
    _, headers = await sign_up(session)
    body = {"title": "Big", "content": "x" * (1024 * 1024 + 1)}
    assert_problem(await local.post("/api/v1/posts", json=body, headers=headers), 413)


async def test_anonymous_upload_is_401(local: AsyncClient) -> None:
    response = await put_avatar(local, {}, png())
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "path",
    [f"{uuid.uuid4()}/{'0' * 32}.png", "not-a-uuid/x.png", f"{uuid.uuid4()}/..%2F..%2Fsecret.png"],
    ids=["missing", "bad user id", "traversal"],
)
async def test_local_media_serves_only_stored_avatars(local: AsyncClient, path: str) -> None:
    response = await local.get(f"/media/avatars/{path}")
    assert response.status_code in {404, 422}
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        ("400", True),
        (404, True),
        ("413", True),
        ("408", False),
        (429, False),
        ("500", False),
        ("", False),
    ],
)
def test_only_a_storage_refusal_that_a_retry_would_meet_again_is_a_502(
    status: int | str, refused: bool
) -> None:
    """A timeout or a rate limit is worth a retry (503); a missing bucket or a type it does not
    allow is not (502)."""
    assert avatar_storage._refused(StorageApiError("message", "code", status)) is refused


async def test_a_public_url_with_a_trailing_slash_serves_avatars(
    database_url: str, session: AsyncSession, media_dir: Path
) -> None:
    """QUIRE_PUBLIC_URL=https://api.example.com/ is as good as without the slash."""
    settings = avatar_settings(database_url, media_dir, None)
    app = settings.app.model_copy(update={"public_url": f"{PUBLIC_URL}/"})
    async with serve_app(settings.model_copy(update={"app": app}), session, PUBLIC_URL) as client:
        _, headers = await sign_up(session)
        url = (await put_avatar(client, headers, png())).json()["avatar_url"]
        assert url.startswith(f"{PUBLIC_URL}/media/avatars/")
        assert (await client.get(url)).content == png()


async def test_storage_out_of_reach_when_the_old_avatar_goes_keeps_the_change(
    hosted: AsyncClient,
    session: AsyncSession,
    storage: StorageStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The old object is removed after the commit: Storage down then costs a stray object,
    never an error."""
    _, headers = await sign_up(session, issuer=storage.url)
    assert (await put_avatar(hosted, headers, png())).status_code == 200
    storage.stop()
    response = await hosted.put(PROFILE, json={"avatar_url": None}, headers=headers)
    assert response.status_code == 200, response.text
    assert "cannot remove an old avatar from Supabase Storage" in caplog.text


async def test_storage_that_never_answers_is_a_503_in_good_time(
    database_url: str, session: AsyncSession, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung Storage must not hold the request (and a pooled connection) forever."""
    monkeypatch.setattr(avatar_storage, "STORAGE_TIMEOUT_SECONDS", 0.5)
    # Connections are queued by the kernel and never answered.
    silent = socket.create_server(("127.0.0.1", 0))
    # Closing it resets the queued connections: a client without a timeout is let go.
    release = threading.Timer(10, silent.close)
    release.start()
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = avatar_settings(database_url, media_dir, url)
        async with serve_app(settings, session, PUBLIC_URL) as client:
            _, headers = await sign_up(session, issuer=url)
            started = time.monotonic()
            response = await put_avatar(client, headers, png())
            assert time.monotonic() - started < 5
        assert_problem(response, 503)
    finally:
        release.cancel()
        silent.close()


class OverloadedStorage(StorageStandIn):
    """Storage answering every upload with `status`, as Supabase does when overloaded."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__()

    def upload(self, request: BaseHTTPRequestHandler) -> None:
        request.rfile.read(int(request.headers["content-length"]))
        self._answer(request, self.status, _error(str(self.status), "busy", "try again later"))


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_storage_that_is_busy_is_a_503_not_a_502(
    database_url: str, session: AsyncSession, media_dir: Path, status: int
) -> None:
    """A rate limit or a server error passes: the client is told to retry, not that the
    bucket is misconfigured."""
    with OverloadedStorage(status) as busy:
        settings = avatar_settings(database_url, media_dir, busy.url)
        async with serve_app(settings, session, PUBLIC_URL) as client:
            _, headers = await sign_up(session, issuer=busy.url)
            assert_problem(await put_avatar(client, headers, png()), 503)


async def test_a_project_without_a_service_role_key_keeps_avatars_locally(
    database_url: str, session: AsyncSession, media_dir: Path, storage: StorageStandIn
) -> None:
    """SUPABASE_URL alone (set to verify tokens) is not enough to write to Storage."""
    settings = avatar_settings(database_url, media_dir, storage.url)
    supabase = settings.supabase.model_copy(update={"service_role_key": None})
    async with serve_app(
        settings.model_copy(update={"supabase": supabase}), session, PUBLIC_URL
    ) as client:
        _, headers = await sign_up(session, issuer=storage.url)
        response = await put_avatar(client, headers, png())
        assert response.status_code == 200, response.text
        url = response.json()["avatar_url"]
    assert url.startswith(f"{PUBLIC_URL}/media/avatars/")
    assert local_file(media_dir, url).read_bytes() == png()
    assert storage.uploads == []


def test_only_a_key_of_the_users_own_shape_is_ever_removed() -> None:
    """A URL that starts like one of the user's avatars names no object of theirs."""
    user_id, other = uuid.uuid4(), uuid.uuid4()
    prefix = f"{PUBLIC_URL}/media/avatars/"
    own = f"{user_id}/{'0' * 32}.png"
    assert avatar_storage._owned_key(prefix + own, prefix, user_id) == own
    for suffix in [f"/../../{other}/{'1' * 32}.png", "x", "?v=2"]:
        assert avatar_storage._owned_key(prefix + own + suffix, prefix, user_id) is None
