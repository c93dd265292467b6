"""The comparison: full-stack-fastapi-template's item list, rebuilt here to that project's design.

What its `GET /api/v1/items/` does, in the same way: sync SQLModel over psycopg, with the
engine's default pool; a session per request from a sync generator dependency; the caller
read from a bearer JWT and looked up with `session.get(User, sub)` on every request; then,
for a superuser, a count of all items and a page of the newest by offset and limit (its
`created_at`, added in January 2026, has no index), validated into the response models.
Sync routes and dependencies run in FastAPI's thread pool, and every request passes its CORS
middleware (always installed there: its origins include `FRONTEND_HOST`), as there.

Served like the API and the ceiling (one uvicorn worker, uvloop, httptools, no access log),
on a database of its own (`TEMPLATE_DATABASE_URL`) that it fills with 10,000 items once.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import DateTime, func, insert
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

ITEMS = 10_000
ALGORITHM = "HS256"
FRONTEND_HOST = "http://localhost:5173"


def get_datetime_utc() -> datetime:
    return datetime.now(UTC)


# Table names from the class names, as there: "user" and "item".
class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str
    created_at: datetime | None = Field(
        default_factory=get_datetime_utc,
        sa_type=DateTime(timezone=True),
    )


class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class Item(ItemBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime | None = Field(
        default_factory=get_datetime_utc,
        sa_type=DateTime(timezone=True),
    )
    owner_id: uuid.UUID = Field(foreign_key="user.id", nullable=False, ondelete="CASCADE")


class ItemPublic(ItemBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime | None = None


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class TokenPayload(SQLModel):
    sub: str | None = None


engine = create_engine(
    os.environ["TEMPLATE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
)
reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
TokenDep = Annotated[str, Depends(reusable_oauth2)]


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    try:
        payload = jwt.decode(token, os.environ["TEMPLATE_SECRET"], algorithms=[ALGORITHM])
        token_data = TokenPayload(**payload)
    except jwt.InvalidTokenError as error:
        raise HTTPException(status_code=403, detail="Could not validate credentials") from error
    user = session.get(User, token_data.sub)
    if not user:
        raise HTTPException(status_code=404, detail="User not found")
    if not user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    _fill(uuid.UUID(os.environ["TEMPLATE_USER_ID"]))
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)
app.add_middleware(
    CORSMiddleware,
    allow_origins=[FRONTEND_HOST],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


@app.get("/api/v1/items/", response_model=ItemsPublic)
def read_items(
    session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100
) -> Any:
    """Retrieve items."""
    if current_user.is_superuser:
        count = session.exec(select(func.count()).select_from(Item)).one()
        newest = select(Item).order_by(col(Item.created_at).desc())
        items = session.exec(newest.offset(skip).limit(limit)).all()
    else:
        owned = Item.owner_id == current_user.id
        count = session.exec(select(func.count()).select_from(Item).where(owned)).one()
        newest = select(Item).where(owned).order_by(col(Item.created_at).desc())
        items = session.exec(newest.offset(skip).limit(limit)).all()
    # Table rows validated into `ItemPublic` through their attributes, as the template does.
    return ItemsPublic(data=items, count=count)  # type: ignore[arg-type]


def _fill(user_id: uuid.UUID) -> None:
    """The tables, a superuser and 10,000 items, unless a previous run left them."""
    SQLModel.metadata.create_all(engine, tables=[User.__table__, Item.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        if session.get(User, user_id) is None:
            session.add(
                User(id=user_id, email="admin@example.com", is_superuser=True, hashed_password="-")
            )
            session.flush()
        have = session.exec(select(func.count()).select_from(Item)).one()
        created = get_datetime_utc()
        rows = [
            {
                "id": uuid.uuid4(),
                "title": f"Item {number}",
                "description": f"The description of item {number}, a few words long.",
                "created_at": created - timedelta(minutes=ITEMS - number),
                "owner_id": user_id,
            }
            for number in range(have, ITEMS)
        ]
        if rows:
            session.execute(insert(Item), rows)
        session.commit()
