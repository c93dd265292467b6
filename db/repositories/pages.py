"""Keyset pagination shared by every list: (timestamp, id) positions, newest first."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Integer, Select, Uuid, bindparam, tuple_
from sqlalchemy.orm import Mapped

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class Keyset:
    """The last row a page ended on; the next page starts strictly after it."""

    at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: Keyset | None


def page_of(rows: Sequence[T], limit: int, keyset_of: Callable[[T], Keyset]) -> Page[T]:
    """Rows fetched with `limit + 1`: the extra row only says whether another page exists."""
    items = list(rows[:limit])
    has_more = len(rows) > limit
    return Page(items=items, next=keyset_of(items[-1]) if has_more and items else None)


def newest_first(statement: S, at: Mapped[Any], key: Mapped[Any], *, after: bool) -> S:
    """Order by (`at`, `key`) descending, start strictly after a position if `after`.

    The position and the page size are bound parameters (see `page_bounds`), so one statement
    serves every page of a list and can be built once.
    """
    if after:
        position = tuple_(
            bindparam("after_at", type_=DateTime(timezone=True)),
            bindparam("after_id", type_=Uuid()),
        )
        statement = statement.where(tuple_(at, key) < position)
    return statement.order_by(at.desc(), key.desc()).limit(bindparam("limit", type_=Integer()))


def page_bounds(after: Keyset | None, limit: int) -> dict[str, Any]:
    """The parameters of a `newest_first` statement: fetch `limit + 1` rows after `after`."""
    bounds: dict[str, Any] = {"limit": limit + 1}
    if after is not None:
        bounds |= {"after_at": after.at, "after_id": after.id}
    return bounds
