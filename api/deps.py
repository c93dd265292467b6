"""Dependencies: the request's session, the caller, and lookups that repeat across routes."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import TokenClaims, TokenVerifier
from api.errors import Forbidden, NotFound, Unauthorized
from api.pagination import CursorCodec
from api.schemas.common import SqlText
from api.storage import AvatarStore, build_avatar_store
from db.models import Post, Role, User
from db.repositories import posts, users
from db.repositories.posts import PostView
from db.repositories.rows import Reader


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed when the route succeeds."""
    async with request.app.state.sessionmaker() as session:
        yield session
        await session.commit()


# `scope="function"` commits before the response is sent, so a 2xx means the data is stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_reader(request: Request) -> Reader:
    """The engine, for a request that only reads: each read borrows a pooled connection for
    its one statement (`db.repositories.rows.fetch`), without a session or a transaction.

    A route takes this or a session, never both, so a request holds one pooled connection at
    most, and only while its statement runs. A yielding dependency would hold it until the
    route returned, and its exit stack cost 4% of a list page's instructions.
    """
    reader: Reader = request.app.state.engine
    return reader


ReaderDep = Annotated[Reader, Depends(get_reader)]


async def get_avatar_store(request: Request) -> AvatarStore:
    """The app's one avatar store, built on first use rather than in the lifespan.

    Building the Supabase client takes ~0.2 s, and most processes (each worker, every test
    app) never see an upload. The lifespan closes the store if one was built.
    """
    state = request.app.state
    if getattr(state, "avatar_store", None) is None:
        state.avatar_store = build_avatar_store(state.settings)
    store: AvatarStore = state.avatar_store
    return store


AvatarStoreDep = Annotated[AvatarStore, Depends(get_avatar_store)]


bearer = HTTPBearer(auto_error=False, description="A Supabase Auth access token.")
# What a route that reads the caller's token can answer besides its own problems: a missing or
# refused token (401), a deactivated account (403), its email held by another account (409),
# and the project's signing keys out of reach (503).
SIGN_IN_ERRORS = (401, 403, 409, 503)
# What a route with a body can answer besides its own problems, on any body: too large for the
# body limit (413), or of another media type than the route reads (415).
BODY_ERRORS = (413, 415)
# OpenAPI for "a token is optional": the empty requirement joins the bearer one.
OPTIONAL_AUTH: dict[str, object] = {"security": [{}]}


async def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def get_cursors(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursors
    return codec


Cursors = Annotated[CursorCodec, Depends(get_cursors)]


async def get_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> TokenClaims | None:
    if credentials is None:
        if "authorization" in request.headers:
            # A token sent without its scheme would otherwise read as no token at all.
            raise Unauthorized("The Authorization header must read `Bearer <access token>`.")
        return None
    return await verifier.verify(credentials.credentials)


async def get_optional_user(
    session: SessionDep, claims: Annotated[TokenClaims | None, Depends(get_claims)]
) -> User | None:
    """The caller if a token was sent (a bad token is still refused), else None."""
    if claims is None:
        return None
    if claims.email is None:
        raise Unauthorized("The access token carries no email address.")
    user = await users.recently_seen(session, claims.sub, claims.email)
    if user is None:
        user = await _record_sign_in(session, claims.sub, claims.email, claims.name)
    if not user.is_active:
        raise Forbidden("This account has been deactivated.")
    return user


async def _record_sign_in(
    session: AsyncSession, user_id: uuid.UUID, email: str, name: str | None
) -> User:
    """The caller's row, created or refreshed from their token in a transaction of its own.

    The refresh locks the caller's row. Held until the request commits, that lock would let
    two concurrent requests of one author deadlock: the published-post counter of one updates
    the row while it holds a post (or a slug) that the other, holding the row, waits for.
    """
    user = await users.record_sign_in(session, user_id, email, name)
    if user is None:
        raise Unauthorized("The account behind this token no longer exists, or is banned.")
    # A deactivated account's request is refused, and leaves nothing behind.
    if user.is_active:
        await session.commit()
    return user


async def get_current_user(
    user: Annotated[User | None, Depends(get_optional_user)],
) -> User:
    if user is None:
        raise Unauthorized("Sign in: this needs an access token.")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def require_admin(user: User | None) -> User:
    """The user, if they are an active administrator; else 403."""
    if user is None or user.role != Role.ADMIN or not user.is_active:
        raise Forbidden("Only administrators may do this.")
    return user


async def get_admin(user: CurrentUser) -> User:
    return require_admin(user)


AdminUser = Annotated[User, Depends(get_admin)]


async def get_user_by_id(user_id: uuid.UUID, session: SessionDep) -> User:
    """The user the path names, with their profile, whatever their status."""
    user = await users.get(session, user_id)
    if user is None:
        raise no_user(user_id)
    return user


def no_user(user_id: uuid.UUID) -> NotFound:
    return NotFound(f"No user with id {user_id}.")


UserById = Annotated[User, Depends(get_user_by_id)]


# Who may read, edit and delete any post, drafts included, besides its author.
POST_MANAGERS = frozenset({Role.MODERATOR, Role.ADMIN})


def can_manage(user: User | None, author_id: uuid.UUID) -> bool:
    return user is not None and (user.id == author_id or user.role in POST_MANAGERS)


def _refuse_unseen(published: bool, author_id: uuid.UUID, user: User | None, slug: str) -> None:
    """404 unless the caller may see the post: published, theirs, or they manage posts."""
    if not (published or can_manage(user, author_id)):
        raise _no_post(slug)


def _no_post(slug: str) -> NotFound:
    return NotFound(f"No post with slug {slug!r}.")


async def get_visible_post(slug: SqlText, session: SessionDep, user: OptionalUser) -> PostView:
    """The post by slug if the caller may see it: read as a view, in one statement."""
    post = await posts.view_by_slug(session, slug)
    if post is None:
        raise _no_post(slug)
    _refuse_unseen(post["published"], post["author"]["id"], user, slug)
    return post


VisiblePost = Annotated[PostView, Depends(get_visible_post)]


async def get_managed_post(user: CurrentUser, slug: SqlText, session: SessionDep) -> Post:
    """The post by slug if the caller may manage it (403 for others who see it).

    Its row stays locked until the request commits: concurrent changes to one post run one
    after the other, each starting from the last one's result (its tag set, its first
    publication), and a change that waited for a delete finds no post (404).
    """
    post = await posts.by_slug(session, slug, for_update=True)
    if post is None:
        raise _no_post(slug)
    _refuse_unseen(post.is_published, post.author_id, user, slug)
    if not can_manage(user, post.author_id):
        raise Forbidden("Only the author, a moderator or an administrator may change this post.")
    return post


ManagedPost = Annotated[Post, Depends(get_managed_post)]
