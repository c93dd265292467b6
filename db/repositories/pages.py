"""Keyset pagination shared by every list: (timestamp, id) positions, newest first."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
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


def newest_first(
    statement: S,
    at: Mapped[Any],
    key: Mapped[Any],
    after: Keyset | None,
    limit: int,
) -> S:
    """Order by (`at`, `key`) descending, start strictly after `after`, fetch `limit + 1`."""
    if after is not None:
        statement = statement.where(tuple_(at, key) < tuple_(after.at, after.id))
    return statement.order_by(at.desc(), key.desc()).limit(limit + 1)
