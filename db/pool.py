"""A connection pool that serves waiting requests first come, first served.

SQLAlchemy's asyncio pool keeps idle connections in an `asyncio.Queue`, which is not fair: a
connection returned while requests wait is put in the queue, and a newcomer that asks before
the first waiter wakes up takes it; the waiter goes back to the end of the line. Under a
saturating load some requests lose that race again and again until `pool_timeout` fails them
(sqlalchemy#7679), although the pool turns over many times a second. Here a returned
connection is handed straight to the longest-waiting request, so a wait lasts as long as the
line ahead of it and no longer.
"""

import asyncio
from collections import deque
from typing import TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import memoized_property
from sqlalchemy.util.queue import AsyncAdaptedQueue

T = TypeVar("T")


class HandoffQueue(asyncio.Queue[T]):
    """A FIFO queue whose items go to waiting getters in arrival order, never to newcomers.

    An item is only ever stored while nobody waits, so `get_nowait` cannot jump the line.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._items: deque[T] = deque()
        self._waiting: deque[asyncio.Future[T]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiting if not waiter.done())

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put_nowait(self, item: T) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if self.full():
            raise asyncio.QueueFull
        self._items.append(item)

    async def put(self, item: T) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> T:
        if self._items:
            return self._items.popleft()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Timed out just as an item was handed over: it goes to the next in line.
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())
            raise


class FairAsyncAdaptedQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    @memoized_property
    def _queue(self) -> HandoffQueue[ConnectionPoolEntry]:
        # Created on first use, inside the running event loop, as SQLAlchemy's own queue is.
        return HandoffQueue(maxsize=self.maxsize)


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool, with waiting checkouts served in arrival order.

    Idle connections are handed out first in, first out: `pool_use_lifo` does not apply.
    """

    _queue_class = FairAsyncAdaptedQueue
