"""The comparison: full-stack-fastapi-template's item list, rebuilt here to that project's design.

What its `GET /api/v1/items/` does, in the same way: sync SQLModel over psycopg, with the
engine's default pool; a session per request from a sync generator dependency; the caller
read from a bearer JWT and looked up with `session.get(User, sub)` on every request; then,
for a superuser, a count of all items and a page by offset and limit, validated into the
response models. Sync routes and dependencies run in FastAPI's thread pool, as there.

Served like the API and the ceiling (one uvicorn worker, uvloop, httptools, no access log),
on a database of its own (`TEMPLATE_DATABASE_URL`) that it fills with 10,000 items once.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy import func, insert
from sqlmodel import Field, Session, SQLModel, create_engine, select

ITEMS = 10_000
ALGORITHM = "HS256"


class TemplateUser(SQLModel, table=True):
    __tablename__ = "template_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str


class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class TemplateItem(ItemBase, table=True):
    __tablename__ = "template_item"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="template_user.id", nullable=False)


class ItemPublic(ItemBase):
    id: uuid.UUID
    owner_id: uuid.UUID


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class TokenPayload(BaseModel):
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


def get_current_user(session: SessionDep, token: TokenDep) -> TemplateUser:
    try:
        payload = jwt.decode(token, os.environ["TEMPLATE_SECRET"], algorithms=[ALGORITHM])
        token_data = TokenPayload(**payload)
    except jwt.InvalidTokenError as error:
        raise HTTPException(status_code=403, detail="Could not validate credentials") from error
    user = session.get(TemplateUser, token_data.sub)
    if not user:
        raise HTTPException(status_code=404, detail="User not found")
    if not user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[TemplateUser, Depends(get_current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    _fill(uuid.UUID(os.environ["TEMPLATE_USER_ID"]))
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/items/", response_model=ItemsPublic)
def read_items(
    session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100
) -> Any:
    """Retrieve items."""
    if current_user.is_superuser:
        count = session.exec(select(func.count()).select_from(TemplateItem)).one()
        items = session.exec(select(TemplateItem).offset(skip).limit(limit)).all()
    else:
        owned = TemplateItem.owner_id == current_user.id
        count = session.exec(select(func.count()).select_from(TemplateItem).where(owned)).one()
        items = session.exec(select(TemplateItem).where(owned).offset(skip).limit(limit)).all()
    # Table rows validated into `ItemPublic` through their attributes, as the template does.
    return ItemsPublic(data=items, count=count)  # type: ignore[arg-type]


def _fill(user_id: uuid.UUID) -> None:
    """The tables, a superuser and 10,000 items, unless a previous run left them."""
    SQLModel.metadata.create_all(engine, tables=[TemplateUser.__table__, TemplateItem.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        if session.get(TemplateUser, user_id) is None:
            session.add(
                TemplateUser(
                    id=user_id, email="admin@example.com", is_superuser=True, hashed_password="-"
                )
            )
            session.flush()
        have = session.exec(select(func.count()).select_from(TemplateItem)).one()
        rows = [
            {
                "id": uuid.uuid4(),
                "title": f"Item {number}",
                "description": f"The description of item {number}, a few words long.",
                "owner_id": user_id,
            }
            for number in range(have, ITEMS)
        ]
        if rows:
            session.execute(insert(TemplateItem), rows)
        session.commit()
