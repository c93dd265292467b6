"""Avatar images: recognised from their bytes, kept in Supabase Storage or in a local folder."""

import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.concurrency import run_in_threadpool
from storage3.exceptions import StorageApiError
from storage3.types import FileOptions
from storage3.utils import StorageException
from supabase import ClientOptions, create_client

from api.errors import BadGateway, ServiceUnavailable
from api.settings import Settings

logger = logging.getLogger("quire.storage")

MAX_AVATAR_BYTES = 2 * 1024 * 1024
LOCAL_AVATARS_PATH = "/media/avatars"
# An object is never written again once stored (see `object_key`), so caches may keep it for good.
IMMUTABLE_SECONDS = "31536000"
STORAGE_TIMEOUT_SECONDS = 10
OBJECT_KEY = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/[0-9a-f]{32}\.(png|jpg|webp)")
UNAVAILABLE = "Avatar storage is unavailable; try again shortly."
REFUSED = "Avatar storage refused the image: its bucket's settings do not allow it."


@dataclass(frozen=True)
class Image:
    content: bytes
    media_type: str
    extension: str


# What `sniff_image` accepts, and so what the avatars bucket must allow.
AVATAR_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")


def sniff_image(content: bytes) -> Image | None:
    """The image if its bytes say PNG, JPEG or WebP, whatever the upload claimed to be."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return Image(content, "image/png", "png")
    if content.startswith(b"\xff\xd8\xff"):
        return Image(content, "image/jpeg", "jpg")
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP" and content[12:15] == b"VP8":
        return Image(content, "image/webp", "webp")
    return None


def object_key(user_id: uuid.UUID, image: Image) -> str:
    """A name no upload had before, in one folder per user (as Supabase's storage policies on
    `foldername(name)` expect).

    Each upload gets its own object, even of the same image: removing the avatar an upload
    replaced can then never remove the one a concurrent upload of that image just stored.
    """
    return f"{user_id}/{uuid.uuid4().hex}.{image.extension}"


def _owned_key(url: str, prefix: str, user_id: uuid.UUID) -> str | None:
    """The key of `url` if it names an object under `prefix` in `user_id`'s own folder.

    Any user may point their profile at any URL, another user's avatar included, so a URL
    taken from a profile proves nothing about who owns the object it names.
    """
    key = url.removeprefix(prefix)
    owned = key != url and key.startswith(f"{user_id}/") and OBJECT_KEY.fullmatch(key)
    return key if owned else None


class AvatarStore(Protocol):
    async def save(self, user_id: uuid.UUID, image: Image) -> str:
        """Store the image; return the URL it is served from."""
        ...

    async def remove(self, user_id: uuid.UUID, url: str) -> None:
        """Delete the avatar at `url` if it is one of `user_id`'s; log failures, never raise."""
        ...

    def close(self) -> None:
        """Release what the store keeps open; the app calls it when it stops."""
        ...


class LocalAvatarStore:
    """Avatars as files under `root`, served by the API at `base_url`."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/") + "/"

    async def save(self, user_id: uuid.UUID, image: Image) -> str:
        key = object_key(user_id, image)
        try:
            await run_in_threadpool(_write_atomically, self.root / key, image.content)
        except OSError as error:
            logger.error("cannot write an avatar: %s", error)
            raise ServiceUnavailable(UNAVAILABLE) from error
        return self.base_url + key

    async def remove(self, user_id: uuid.UUID, url: str) -> None:
        key = _owned_key(url, self.base_url, user_id)
        if key is None:
            return
        try:
            await run_in_threadpool((self.root / key).unlink, missing_ok=True)
        except OSError as error:
            logger.warning("cannot remove an old avatar: %s", error)

    def close(self) -> None:
        """Files hold nothing open between requests."""


def _write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file and rename it, so no reader ever sees half an image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Bucket(Protocol):
    """What we use of a storage3 bucket."""

    def upload(self, path: str, file: bytes, file_options: FileOptions | None = None) -> Any: ...

    def get_public_url(self, path: str) -> str: ...

    def remove(self, paths: list[str]) -> Any: ...


class SupabaseAvatarStore:
    """Avatars in a public Supabase Storage bucket, written with the service role key."""

    def __init__(self, bucket: Bucket, http_client: httpx.Client) -> None:
        self._bucket = bucket
        # The client's keep-alive connections to Storage, closed with the store.
        self.http_client = http_client
        # An object's public URL is this prefix followed by its key.
        self._public_prefix = bucket.get_public_url("_").removesuffix("_")

    @classmethod
    def connect(cls, url: str, service_role_key: str, bucket: str) -> "SupabaseAvatarStore":
        """One client for the app's lifetime; building it makes no network call."""
        http_client = httpx.Client(timeout=STORAGE_TIMEOUT_SECONDS)
        options = ClientOptions(
            auto_refresh_token=False, persist_session=False, httpx_client=http_client
        )
        client = create_client(url, service_role_key, options)
        return cls(client.storage.from_(bucket), http_client)

    def close(self) -> None:
        self.http_client.close()

    async def save(self, user_id: uuid.UUID, image: Image) -> str:
        key = object_key(user_id, image)
        options: FileOptions = {
            "content-type": image.media_type,
            "cache-control": IMMUTABLE_SECONDS,
            "upsert": "true",
        }
        try:
            await run_in_threadpool(self._bucket.upload, key, image.content, options)
        except (StorageException, httpx.HTTPError) as error:
            logger.error("avatar upload to Supabase Storage failed: %s", error)
            if isinstance(error, StorageApiError) and _refused(error):
                raise BadGateway(REFUSED) from error
            raise ServiceUnavailable(UNAVAILABLE) from error
        return self._bucket.get_public_url(key)

    async def remove(self, user_id: uuid.UUID, url: str) -> None:
        key = _owned_key(url, self._public_prefix, user_id)
        if key is None:
            return
        try:
            await run_in_threadpool(self._bucket.remove, [key])
        except (StorageException, httpx.HTTPError) as error:
            logger.warning("cannot remove an old avatar from Supabase Storage: %s", error)


# A timeout or a rate limit passes: those are worth a retry.
RETRYABLE_STATUSES = frozenset({408, 429})


def _refused(error: StorageApiError) -> bool:
    """A 4xx from Storage (no such bucket, a size or type it does not allow, a wrong key):
    the bucket or the key is misconfigured, and a retry would be refused again."""
    status = str(error.status)
    if not status.isdigit():
        return False
    code = int(status)
    return 400 <= code < 500 and code not in RETRYABLE_STATUSES


def build_avatar_store(settings: Settings) -> AvatarStore:
    """Supabase Storage when the project URL and service role key are set, else local files."""
    supabase = settings.supabase
    if supabase.url and supabase.service_role_key:
        key = supabase.service_role_key.get_secret_value()
        return SupabaseAvatarStore.connect(supabase.url, key, supabase.avatars_bucket)
    base_url = settings.app.public_url.rstrip("/") + LOCAL_AVATARS_PATH
    return LocalAvatarStore(local_avatars_dir(settings), base_url)


def local_avatars_dir(settings: Settings) -> Path:
    return settings.app.media_dir.resolve() / "avatars"
