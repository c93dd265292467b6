"""The signed-in user's avatar, and the local media folder that serves avatars without Supabase."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import SIGN_IN_ERRORS, AvatarStoreDep, CurrentUser, SessionDep
from api.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, problem_responses
from api.responses import ProblemFileResponse
from api.schemas.users import ProfilePublic
from api.storage import (
    IMMUTABLE_SECONDS,
    LOCAL_AVATARS_PATH,
    MAX_AVATAR_BYTES,
    Image,
    local_avatars_dir,
    sniff_image,
)
from db.repositories import users

router = APIRouter(tags=["users"])
media = APIRouter(prefix=LOCAL_AVATARS_PATH, tags=["media"])

AVATAR_PATH = "/users/me/avatar"
# The form's boundary and part headers come on top of the image.
MAX_REQUEST_BYTES = MAX_AVATAR_BYTES + 64 * 1024
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
FILE_NAME = r"^[0-9a-f]{32}\.(png|jpg|webp)$"


async def read_image(upload: UploadFile) -> Image:
    """The uploaded image, refused if too big or if its bytes are not PNG, JPEG or WebP."""
    content = await upload.read(MAX_AVATAR_BYTES + 1)
    if len(content) > MAX_AVATAR_BYTES:
        raise PayloadTooLarge(f"An avatar may be at most {MAX_AVATAR_BYTES} bytes.")
    image = sniff_image(content)
    if image is None:
        raise UnsupportedMediaType("An avatar must be a PNG, JPEG or WebP image.")
    return image


@router.put(AVATAR_PATH, responses=problem_responses(*SIGN_IN_ERRORS, 413, 415, 502))
async def upload_my_avatar(
    file: Annotated[UploadFile, File(description="A PNG, JPEG or WebP image of at most 2 MB.")],
    user: CurrentUser,
    session: SessionDep,
    store: AvatarStoreDep,
    background: BackgroundTasks,
) -> ProfilePublic:
    """Replace the signed-in user's avatar; its type is read from the bytes, not the upload."""
    image = await read_image(file)
    url = await store.save(user.id, image)
    # Locked until the commit: concurrent uploads each replace, and remove, the image that
    # the one before them stored, never one the profile still points to.
    previous = (await users.lock_profile(session, user.id)).avatar_url
    profile = await users.upsert_profile(session, user.id, {"avatar_url": url})
    if previous:
        # Background tasks run after the commit: the old image goes once nothing points to it.
        background.add_task(store.remove, user.id, previous)
    return ProfilePublic.model_validate(profile, from_attributes=True)


@media.get(
    "/{user_id}/{name}", response_class=FileResponse, responses=problem_responses(400, 404, 416)
)
async def read_local_avatar(
    user_id: uuid.UUID, name: Annotated[str, PathParam(pattern=FILE_NAME)], request: Request
) -> ProblemFileResponse:
    """An avatar kept in the local media folder."""
    path = local_avatars_dir(request.app.state.settings) / str(user_id) / name
    if not await run_in_threadpool(path.is_file):
        raise NotFound("No such avatar.")
    return ProblemFileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": f"public, max-age={IMMUTABLE_SECONDS}, immutable"},
    )
