"""What rtshell.aio hands to consumers as it arrives: a dump's chunks, events."""

from __future__ import annotations

import asyncio
import collections
import weakref
from typing import TYPE_CHECKING, Any, Generator, Optional

from rtshell.client import core
from rtshell.client import Subscription
from rtshell.model import Event, Filter

if TYPE_CHECKING:
    from rtshell.aio.client import Client
    from rtshell.aio.connection import Connection

_resolve = core.resolve


class DumpStream:
    """The chunks of one dump between the reader and its consumer (one task).

    Bounded by the reader (``full`` stops it, see Connection._steer); a
    full stream that expects more starts the consumer's idle clock: a
    consumer that takes nothing for ``timeout`` loses its dump.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.task = asyncio.current_task()
        self.record: Optional[core.Pending[DumpStream]] = None  # set once its request is built
        self.chunks: collections.deque[core.Chunk] = collections.deque()
        self.closed = False  # the consumer left, or the client closed
        self.finished = False  # the consumer had the last chunk, or the error
        self.error: Optional[BaseException] = None  # raised at the consumer
        self._waiter: Optional[asyncio.Future[None]] = None
        self._idle: Optional[asyncio.TimerHandle] = None

    @property
    def full(self) -> bool:
        return not self.closed and len(self.chunks) >= core.STREAM_DEPTH

    @property
    def request(self) -> core.Pending[DumpStream]:
        """``record``, where it is set for sure: its request was sent before any
        chunk can come or the consumer can wait."""
        p = self.record
        assert p is not None
        return p

    def put(self, chunk: core.Chunk) -> None:
        """Reader side."""
        self.chunks.append(chunk)
        _resolve(self._waiter)
        if self.full and chunk.end is None and self._idle is None:
            conn = self.connection
            self._idle = conn._bound_loop.call_later(conn.timeout, conn._consumer_idle, self)

    async def next(self) -> core.Chunk:
        """Consumer side: the next chunk; its error (a stall for ``timeout`` is one)."""
        conn = self.connection
        while not self.chunks:
            if self.error is not None:
                self.finished = True
                raise self.error
            self._waiter = waiter = conn._bound_loop.create_future()
            try:
                async with asyncio.timeout(conn.timeout):
                    await waiter
            except TimeoutError:
                if not self.chunks and self.error is None:
                    self.finished = True
                    raise conn._core.stalled(self.request, conn.timeout) from None
            finally:
                self._waiter = None
        chunk = self.chunks.popleft()
        if self._idle is not None and not self.full:
            self._idle.cancel()
            self._idle = None
        conn._steer()  # room again: read on
        if isinstance(chunk.end, BaseException):
            self.finished = True
            raise chunk.end
        if chunk.end is True:
            self.finished = True
        return chunk

    def abort(self, error: Optional[BaseException]) -> None:
        self.closed = True
        if error is not None and self.error is None:
            self.error = error
        self.chunks.clear()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        _resolve(self._waiter)


class Monitor:
    """The async iterator of :meth:`rtshell.aio.Client.monitor`: events through a bounded queue.

    Subscribes when entered (``async with``) or awaited, else at the first
    ``__anext__``.  Holds its subscription only weakly: a monitor dropped
    without ``close()`` is collected and unsubscribes itself.
    """

    def __init__(self, client: Client, filter: Optional[Filter], resync: bool, depth: int) -> None:
        self._client = client
        self._filter = filter
        self._resync = resync
        self._events: collections.deque[Event] = collections.deque()
        self._depth = depth
        self._lost = 0
        self._sub: Optional[Subscription] = None
        self._closed = False
        self._waiter: Optional[asyncio.Future[None]] = None

    async def _open(self) -> "Monitor":
        if self._sub is None and not self._closed and not self._client.closed:
            ref = weakref.ref(self)

            def deliver(event: Event) -> None:
                monitor = ref()
                if monitor is not None:
                    monitor._put(event)

            self._sub = await self._client.subscribe(deliver, self._filter, resync=self._resync)
        return self

    def __await__(self) -> Generator[Any, None, Monitor]:
        return self._open().__await__()

    async def __aenter__(self) -> "Monitor":
        return await self._open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> "Monitor":
        return self

    async def __anext__(self) -> Event:
        await self._open()
        while not self._events:
            if self._lost:
                lost, self._lost = self._lost, 0
                raise core.monitor_lost(lost)
            if self._closed or self._client.closed or self._sub is None or self._sub.closed:
                raise StopAsyncIteration
            self._waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._events.popleft()

    def _put(self, event: Event) -> None:
        if len(self._events) >= self._depth:
            self._lost += 1
        else:
            self._events.append(event)
        self._wake()

    def _wake(self) -> None:
        _resolve(self._waiter)

    def close(self) -> None:
        """Unsubscribe; an ``async for`` over it ends."""
        self._closed = True
        if self._sub is not None:
            self._sub.close()
        self._wake()

    def __del__(self) -> None:
        sub = getattr(self, "_sub", None)
        if sub is not None:
            try:
                sub.close()
            except Exception:
                pass
