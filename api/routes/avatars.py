"""The signed-in user's avatar, and the local media folder that serves avatars without Supabase."""

import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool

from api.deps import BODY_ERRORS, SIGN_IN_ERRORS, AvatarStoreDep, CurrentUser, SessionDep
from api.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, problem_responses
from api.responses import ProblemFileResponse
from api.schemas.users import ProfilePublic
from api.storage import (
    AVATAR_MEDIA_TYPES,
    IMMUTABLE_SECONDS,
    LOCAL_AVATARS_PATH,
    MAX_AVATAR_BYTES,
    AvatarStore,
    Image,
    local_avatars_dir,
    sniff_image,
)
from db.models import UserProfile
from db.repositories import users

router = APIRouter(tags=["users"])
media = APIRouter(prefix=LOCAL_AVATARS_PATH, tags=["media"])

AVATAR_PATH = "/users/me/avatar"
# The form's boundary and part headers come on top of the image.
MAX_REQUEST_BYTES = MAX_AVATAR_BYTES + 64 * 1024
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
FILE_NAME = r"^[0-9a-f]{32}\.(png|jpg|webp)$"
IMAGE = {
    media_type: {"schema": {"type": "string", "format": "binary"}}
    for media_type in AVATAR_MEDIA_TYPES
}


async def read_image(upload: UploadFile) -> Image:
    """The uploaded image, refused if too big or if its bytes are not PNG, JPEG or WebP."""
    content = await upload.read(MAX_AVATAR_BYTES + 1)
    if len(content) > MAX_AVATAR_BYTES:
        raise PayloadTooLarge(f"An avatar may be at most {MAX_AVATAR_BYTES} bytes.")
    image = sniff_image(content)
    if image is None:
        raise UnsupportedMediaType("An avatar must be a PNG, JPEG or WebP image.")
    return image


class AvatarImages:
    """The avatar images a request stores or replaces, each removed once the request's
    outcome leaves nothing pointing to it."""

    def __init__(self, store: AvatarStore, background: BackgroundTasks) -> None:
        self._store = store
        self._background = background
        self._saved: list[tuple[uuid.UUID, str]] = []

    async def save(self, user_id: uuid.UUID, image: Image) -> str:
        """Store the image; it is removed again unless the request's transaction commits."""
        url = await self._store.save(user_id, image)
        self._saved.append((user_id, url))
        return url

    def replaced(self, user_id: uuid.UUID, url: str) -> None:
        """Remove `url` once the request has committed, if it is one of the user's images."""
        # Background tasks run only after a successful commit, so a failed request keeps it.
        self._background.add_task(self._store.remove, user_id, url)

    async def discard_saved(self) -> None:
        for user_id, url in self._saved:
            await self._store.remove(user_id, url)


async def get_avatar_images(
    store: AvatarStoreDep, background: BackgroundTasks
) -> AsyncIterator[AvatarImages]:
    images = AvatarImages(store, background)
    try:
        yield images
    except BaseException:
        await images.discard_saved()
        raise


# Function-scoped like the session, and declared before CurrentUser and SessionDep in a route:
# set up first, it is torn down last, after the session's commit, and so sees a failed commit.
AvatarImagesDep = Annotated[AvatarImages, Depends(get_avatar_images, scope="function")]


async def update_profile(
    session: AsyncSession, images: AvatarImages, user_id: uuid.UUID, changes: dict[str, Any]
) -> UserProfile:
    """Apply `changes` to the user's profile; the avatar they replace goes after the commit."""
    if "avatar_url" not in changes:
        return await users.upsert_profile(session, user_id, changes)
    # Locked until the commit: concurrent writers each replace, and remove, the avatar that
    # the one before them set, never one the profile still points to.
    previous = (await users.lock_profile(session, user_id)).avatar_url
    profile = await users.upsert_profile(session, user_id, changes)
    if previous and previous != profile.avatar_url:
        images.replaced(user_id, previous)
    return profile


@router.put(AVATAR_PATH, responses=problem_responses(*SIGN_IN_ERRORS, *BODY_ERRORS, 502))
async def upload_my_avatar(
    file: Annotated[UploadFile, File(description="A PNG, JPEG or WebP image of at most 2 MB.")],
    images: AvatarImagesDep,
    user: CurrentUser,
    session: SessionDep,
) -> ProfilePublic:
    """Replace the signed-in user's avatar; its type is read from the bytes, not the upload."""
    image = await read_image(file)
    url = await images.save(user.id, image)
    profile = await update_profile(session, images, user.id, {"avatar_url": url})
    return ProfilePublic.model_validate(profile, from_attributes=True)


@media.get(
    "/{user_id}/{name}",
    response_class=FileResponse,
    responses={
        200: {"description": "The avatar", "content": IMAGE},
        206: {"description": "The part of the avatar a `Range` header asks for", "content": IMAGE},
        **problem_responses(400, 404, 416, reads_database=False),
    },
)
async def read_local_avatar(
    user_id: uuid.UUID, name: Annotated[str, PathParam(pattern=FILE_NAME)], request: Request
) -> ProblemFileResponse:
    """An avatar kept in the local media folder."""
    path = local_avatars_dir(request.app.state.settings) / str(user_id) / name
    found = await run_in_threadpool(regular_file_stat, path)
    if found is None:
        raise NotFound("No such avatar.")
    # Its own lookup would raise a RuntimeError (a 500) for a file removed meanwhile, as the
    # old avatar is once its owner replaces it.
    return ProblemFileResponse(
        path,
        stat_result=found,
        media_type=MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": f"public, max-age={IMMUTABLE_SECONDS}, immutable"},
    )


def regular_file_stat(path: Path) -> os.stat_result | None:
    """The file's metadata, or None if there is no regular file at `path`."""
    try:
        found = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return found if stat.S_ISREG(found.st_mode) else None
