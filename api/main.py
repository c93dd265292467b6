"""The FastAPI application: create_app() wires settings, lifespan, middleware and routes."""

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from api.auth import TokenVerifier
from api.errors import install_error_handlers
from api.middleware import (
    EXPOSED_HEADERS,
    BodyLimitMiddleware,
    HeadMiddleware,
    ProblemCORSMiddleware,
    SecurityHeadersMiddleware,
    StrictJsonMiddleware,
)
from api.openapi import install_openapi
from api.pagination import CursorCodec
from api.paths import API_PREFIX
from api.routes import admin, avatars, discovery, health, posts, users
from api.settings import FORGEABLE_TOKENS_REFUSAL, Settings, accepts_forged_tokens, get_settings
from db.engine import create_engine, create_sessionmaker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the engine when the app starts and dispose of it when it stops."""
    settings: Settings = app.state.settings
    if not settings.database.url:
        raise RuntimeError("DATABASE_URL is not set (`make dev` starts a local database for you)")
    engine = create_engine(
        settings.database.url,
        pool_mode=settings.database.pool_mode,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
    )
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    _freeze_what_lives_as_long_as_the_app()
    try:
        yield
    finally:
        await engine.dispose()
        # Built on the first avatar upload, if there was one.
        if (avatars := getattr(app.state, "avatar_store", None)) is not None:
            avatars.close()
        # The process may outlive the app (tests start many): what it froze can be freed again.
        gc.unfreeze()


def _freeze_what_lives_as_long_as_the_app() -> None:
    """Keep the garbage collector from walking the app's own objects again and again.

    Modules, models, routes and caches (~150k objects) live as long as the process, yet every
    full collection walked them all: under `wrk -c32` on a list page, 12 full collections in
    10 s took 130 ms each (the event loop stopped meanwhile), 16% of the server's CPU. Frozen,
    they are left out (4 ms each): CPU per request -14%. Garbage first, so none is kept.
    """
    gc.collect()
    gc.freeze()


class Quire(FastAPI):
    """FastAPI with middleware wrapped around Starlette's whole stack: `outer_middleware`,
    outermost first.

    Starlette builds ServerErrorMiddleware, which sends the catch-all handler's 500, outside
    every middleware `add_middleware` adds: headers those add never reach a 500. What decorates
    every response (security headers, CORS, HEAD's empty body) goes in `outer_middleware`
    instead, around ServerErrorMiddleware too; what answers requests itself (the body cap,
    strict JSON) stays inside it, so that a failure there is still a problem 500. The stack is
    built once, on the first request, as Starlette's is: each layer costs what it cost before,
    and `create_app` still returns the FastAPI app (its state, dependency overrides, lifespan).
    """

    def __init__(self, *, outer_middleware: Sequence[Middleware] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outer_middleware = list(outer_middleware)

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.outer_middleware):
            app = cls(app, *args, **kwargs)
        return app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if accepts_forged_tokens(settings):
        raise RuntimeError(FORGEABLE_TOKENS_REFUSAL)
    app = Quire(
        title="Quire",
        version="1.0.0",
        summary="A publishing API: users, profiles, posts and tags.",
        lifespan=lifespan,
        outer_middleware=_outer_middleware(settings),
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier.from_settings(settings.supabase)
    app.state.cursors = CursorCodec(settings.cursor_key())
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    # Posts first: requests try the routes in order, and post lists and pages are the hot
    # paths (matching users' and avatars' routes first cost 0.1M instructions per list page).
    for router in (posts.router, users.router, avatars.router, discovery.router, admin.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(avatars.media)
    app.add_middleware(StrictJsonMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.app.max_body_bytes,
        path_limits={API_PREFIX + avatars.AVATAR_PATH: avatars.MAX_REQUEST_BYTES},
    )
    return app


def _outer_middleware(settings: Settings) -> list[Middleware]:
    """Security headers outermost, so that CORS's own answers to preflights carry them too."""
    cors = Middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.app.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    return [
        Middleware(SecurityHeadersMiddleware),
        *([cors] if settings.app.cors_origins else []),
        Middleware(HeadMiddleware),
    ]
