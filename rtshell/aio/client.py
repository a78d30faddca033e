"""rtshell.aio.Client: the threaded client's verbs, awaited; notifications on the loop."""

from __future__ import annotations

import asyncio
import errno as _errno
import logging
import os
import weakref
from typing import AsyncGenerator, Callable, Iterable, Optional, Union, overload

from rtshell.client import core, dumps, notifications, plans, sockets
from rtshell import errors
from rtshell import netlink as nl
from rtshell.aio.batch import Batch
from rtshell.aio.connection import Connection
from rtshell.aio.streams import Monitor
from rtshell.client import Address, Subscription
from rtshell.model import TABLE_MAIN, Event, Filter, LookupResult, Network, Route, Stats

log = logging.getLogger("rtshell.aio")

_resolve = core.resolve


class Client(Connection):
    """A connection to rtmgr driven by the running event loop (see :mod:`rtshell.aio`).

    Same arguments, attributes and counters as :class:`rtshell.client.Client`
    (``trace`` is called on the loop).  Use ``async with``, or call
    :meth:`close` (on the loop).
    """

    def __init__(self, timeout: float = 5.0, *, rcvbuf: Optional[int] = sockets.REQUEST_RCVBUF,
                 notify_rcvbuf: Optional[int] = sockets.NOTIFY_RCVBUF,
                 _socket_factory: Optional[Callable[..., nl.NetlinkSocket]] = None) -> None:
        super().__init__(timeout, rcvbuf, _socket_factory)
        self._notify_rcvbuf = notify_rcvbuf
        self._subs: list[Subscription] = []
        self._nreading = False  # the notification socket is registered with the loop
        self._drain_reads = 0  # receives that empty a full notification socket
        self._mirror = notifications.Mirror()
        self._mirror_waiter: Optional[asyncio.Future[None]] = None
        self._resync_task: Optional[asyncio.Task[None]] = None
        self._monitors: weakref.WeakSet[Monitor] = weakref.WeakSet()

    def close(self) -> None:
        """Fail what is still waiting (ESHUTDOWN), end monitors, close the sockets.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_requests()
        if self._nsock is not None and self._loop is not None:
            self._loop.remove_reader(self._nsock.fileno())
        if self._resync_task is not None:
            self._resync_task.cancel()
        self._close_sockets()
        for sub in self._subs:
            sub.closed = True
        self._subs.clear()
        for monitor in list(self._monitors):
            monitor._wake()
        _resolve(self._mirror_waiter)

    async def __aenter__(self) -> "Client":
        self._attach()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ---- the route API (as rtshell.client.Client's, awaited) -------------

    async def add(self, route: Route, echo: bool = False) -> Optional[Route]:
        """See :meth:`rtshell.client.Client.add`."""
        return await self._drive(plans.change_plan("add", route, echo))

    async def replace(self, route: Route, echo: bool = False) -> Optional[Route]:
        """See :meth:`rtshell.client.Client.replace`."""
        return await self._drive(plans.change_plan("replace", route, echo))

    async def change(self, route: Route, echo: bool = False) -> Optional[Route]:
        """See :meth:`rtshell.client.Client.change`."""
        return await self._drive(plans.change_plan("change", route, echo))

    async def append(self, route: Route, echo: bool = False) -> Optional[Route]:
        """See :meth:`rtshell.client.Client.append`."""
        return await self._drive(plans.change_plan("append", route, echo))

    @overload
    async def delete(self, target: Route, echo: bool = False) -> Optional[Route]: ...
    @overload
    async def delete(self, target: Filter, echo: bool = False) -> int: ...

    async def delete(self, target: Union[Route, Filter],
                     echo: bool = False) -> Union[Route, int, None]:
        """See :meth:`rtshell.client.Client.delete`."""
        return await self._drive(plans.delete_plan(target, echo))

    async def get(self, dst: Union[Network, str], table: int = TABLE_MAIN,
                  metric: Optional[int] = None) -> Route:
        """See :meth:`rtshell.client.Client.get`."""
        return await self._drive(plans.get_plan(dst, table, metric))

    async def lookup(self, addr: Union[Address, str], table: int = TABLE_MAIN) -> Route:
        """See :meth:`rtshell.client.Client.lookup`."""
        return await self._drive(plans.lookup_plan(addr, table))

    async def lookup_many(self, addrs: Iterable[Union[Address, str]],
                          table: int = TABLE_MAIN) -> list[LookupResult]:
        """See :meth:`rtshell.client.Client.lookup_many`."""
        return await self._drive(plans.lookup_many_plan(addrs, table))

    async def flush(self, filter: Optional[Filter] = None) -> int:
        """See :meth:`rtshell.client.Client.flush`."""
        return await self._drive(plans.flush_plan(filter))

    async def stats(self, *, tables: bool = True) -> Stats:
        """See :meth:`rtshell.client.Client.stats`."""
        return await self._drive(plans.stats_plan(tables))

    async def dump(self, filter: Optional[Filter] = None, *,
                   consistent: bool = False) -> AsyncGenerator[Route, None]:
        """``async for route in c.dump(filter)``; see :meth:`rtshell.client.Client.dump`.

        While a task reads a dump, another dump or bulk lookup of that task
        is refused (EBUSY); those of other tasks wait for it.  Leaving the
        loop early abandons the dump (at once with ``aclose()``).
        """
        op, build, _multi = plans.dump_request(filter)
        reader = dumps.DumpReader(op, consistent)
        while reader.attempt(self):
            chunks = self._chunks(op, build)
            try:
                async for chunk in chunks:
                    for route in reader.take(chunk):
                        yield route
                    if reader.interrupted:
                        break
            finally:
                await chunks.aclose()  # abandons the rest of an unfinished attempt

    async def _snapshot(self, filter: Optional[Filter]) -> list[Route]:
        return [route async for route in self.dump(filter, consistent=True)]

    def batch(self, atomic: bool = False, raise_on_error: bool = True) -> Batch:
        """``async with c.batch() as b``; see :class:`rtshell.client.Batch`."""
        return Batch(self, atomic=atomic, raise_on_error=raise_on_error)

    # ---- notifications ---------------------------------------------------

    async def subscribe(self, callback: Callable[[Event], None], filter: Optional[Filter] = None,
                        *, resync: bool = False) -> Subscription:
        """See :meth:`rtshell.client.Client.subscribe`; ``callback`` runs on the loop."""
        self._check_open()
        sub = Subscription(self, callback, filter, resync)
        self._start_notifier()
        for _attempt in range(core.DUMP_ATTEMPTS):
            if resync:
                await self._build_model()
                if self._mirror.model is None:  # the last resync subscriber left meanwhile
                    continue
                sub._first = sub.wants(self._mirror.first())
                self._bound_loop.call_soon(sub.deliver_first)
            self._subs.append(sub)
            return sub
        raise core.dump_interrupted(core.Op("show", None))

    def monitor(self, filter: Optional[Filter] = None, *, resync: bool = False) -> Monitor:
        """Events as an async iterator: ``async with c.monitor() as events:
        async for event in events`` (or ``events = await c.monitor()``).

        Subscribed when entered or awaited; see :meth:`rtshell.client.Client.monitor`.
        """
        self._check_open()
        monitor = Monitor(self, filter, resync, notifications.MONITOR_DEPTH)
        self._monitors.add(monitor)
        return monitor

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        self._mirror.release(self._subs)

    def _start_notifier(self) -> None:
        if self._nsock is not None:
            return
        self._attach()
        self._nsock = self._socket_factory(groups=nl.GROUP_ROUTE, rcvbuf=self._notify_rcvbuf)
        os.set_blocking(self._nsock.fileno(), False)
        # what a full socket holds, read back in receive buffers
        self._drain_reads = sockets.rcvbuf_of(self._nsock) // nl.RECV_BUFSIZE + 2
        self._notify_read(True)

    async def _build_model(self) -> None:
        """Make sure the mirror of the table exists (see rtshell.client.notifications.Mirror)."""
        mirror = self._mirror
        while mirror.building:  # another task takes the dump: wait for it
            waiter = self._mirror_waiter
            if waiter is None or waiter.done():
                waiter = self._mirror_waiter = self._bound_loop.create_future()
            try:
                async with asyncio.timeout(self.timeout):
                    await asyncio.shield(waiter)
            except TimeoutError:
                raise errors.error_for(_errno.ETIMEDOUT, None, "subscribe", None,
                                       "table snapshot not ready") from None
            self._check_open()
        if mirror.model is not None:
            return
        for _attempt in range(core.DUMP_ATTEMPTS):
            mirror.begin()
            routes = None
            try:
                routes = await self._snapshot(None)
            finally:
                mirror.end(routes)
                _resolve(self._mirror_waiter)
            if mirror.model is not None:
                return
        raise core.dump_interrupted(core.Op("show", None))

    def _notify_readable(self) -> None:
        nsock = self._nsock
        assert nsock is not None  # read only once opened (_start_notifier)
        self._read_socket(nsock, "notification", self._notify_read, self._events,
                          self._notifications_lost)

    def _events(self, buf: bytes) -> bool:
        sockets.trace_to(self.trace, core.RECV, buf)
        events = notifications.events_in(buf)
        if events:
            self._mirror.apply(events)
            notifications.deliver_all(list(self._subs), events)
        return True

    def _notifications_lost(self) -> bool:
        """An overrun: take in what is still queued (older than the resync
        dump, see rtshell.client.Client._drain), then resync with the
        notification socket unread until it is done."""
        nsock = self._nsock
        assert nsock is not None  # an overrun of the socket being read
        self._read_socket(nsock, "notification", self._notify_read, self._events,
                          lambda: True, reads=self._drain_reads)
        self._notify_read(False)
        self._resync_task = self._bound_loop.create_task(self._resync())
        return False

    async def _resync(self) -> None:
        """Events were lost: compare a fresh dump with the mirror and tell subscribers."""
        try:
            if not self._mirror.lost():
                notifications.deliver_all(list(self._subs), [notifications.OVERRUN])
                return
            try:
                fresh = await self._snapshot(None)
            except (errors.RtmgrError, OSError) as exc:
                if not self._closed:
                    log.error("resync after notification overrun failed: %s", exc)
                    notifications.deliver_all(list(self._subs), [notifications.OVERRUN])
                return
            event = self._mirror.resync(fresh)
            notifications.deliver_all(list(self._subs), [event])
        finally:
            self._notify_read(True)

    def _notify_read(self, on: bool) -> None:
        self._nreading = self._watch(self._nsock, self._notify_readable, self._nreading, on)
