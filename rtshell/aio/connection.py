"""The event-loop side of rtshell.aio: requests out, answers in, waits.

:class:`Connection` owns the request socket, registered with the loop, and
drives the shared protocol core (:class:`rtshell.client.core.Core`): it sends
what the core builds as far as the in-flight window allows, feeds the core
every receive buffer, stops reading while a dump's consumer lags, and runs
the plans of :mod:`rtshell.client` (``_drive`` and the steps it performs),
each wait bounded by ``timeout`` with ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import collections
import errno as _errno
import logging
import os
from typing import Any, AsyncGenerator, Callable, Optional, TypeVar

from rtshell.client import base, core, sockets
from rtshell import errors
from rtshell import netlink as nl
from rtshell.aio.streams import DumpStream

log = logging.getLogger("rtshell.aio")

#: Receive buffers taken from a socket per wake-up, before other tasks run.
READS_PER_WAKE = 16

_T = TypeVar("_T")


class Connection(base.ClientBase[DumpStream]):
    """The request socket on the running event loop (base of :class:`rtshell.aio.Client`)."""

    _sock: nl.NetlinkSocket  # opened by __init__, never unset (the base allows None)

    def __init__(self, timeout: float, rcvbuf: Optional[int],
                 socket_factory: Optional[Callable[..., nl.NetlinkSocket]]) -> None:
        self.timeout = float(timeout)
        self.trace: Optional[Callable[[str, bytes], None]] = None
        self._socket_factory = socket_factory or nl.NetlinkSocket
        self._sock = self._socket_factory(groups=0, rcvbuf=rcvbuf)
        os.set_blocking(self._sock.fileno(), False)
        self._window, per_send = sockets.window_of(self._sock)
        self._core = core.Core(per_send)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._outq: collections.deque[core.Outgoing[DumpStream]] = collections.deque()
        self._reading = False  # the request socket is registered with the loop
        self._writing = False  # a send met a full socket: waiting until it is writable
        self._tx_at = 0.0  # loop time of the last send, and of the last receive
        self._rx_at = 0.0
        self.dump_restarts = 0  # dumps started again after NLM_F_DUMP_INTR

    @property
    def _bound_loop(self) -> asyncio.AbstractEventLoop:
        """The client's loop, where it is bound for sure: in the loop's callbacks,
        and after ``_attach`` (every request and subscription calls it first)."""
        loop = self._loop
        assert loop is not None
        return loop

    @property
    def pending(self) -> int:
        """Requests sent or queued whose answer has not arrived yet."""
        return self._core.outstanding

    def _close_requests(self) -> None:
        """Fail what waits for an answer (ESHUTDOWN); off the loop."""
        for p in self._core.fail_all(core.closed_error):
            if p.stream is not None:
                p.stream.abort(p.error)
        self._outq.clear()
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())

    # ---- running plans (see rtshell.client.plans.ask) -------------------------

    async def _drive(self, plan: core.Plan[_T]) -> _T:
        """Run a plan: perform each step it yields, give it the outcome; its result."""
        outcome: Any = None
        try:
            while True:
                name, *args = plan.send(outcome)
                outcome = await getattr(self, name)(*args)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        finally:
            plan.close()

    async def _call(self, op: core.Op, build: Callable[[int], bytes],
                    multi: bool = False) -> core.Pending[DumpStream]:
        """One request, answered in full (multipart collected); raises its error."""
        if multi:
            await self._acquire_dump_slot(op, None)
        try:
            (p,) = self._submit([(op, build, multi)])
        except BaseException:
            if multi:
                self._core.release_dump(core.RESERVED)
            raise
        await self._wait_one(p)
        if p.error is not None:
            raise p.error
        return p

    async def _call_all(self, items: list[core.Request]) -> list[core.Pending[DumpStream]]:
        pendings = self._submit(items)
        await self._wait_all(pendings)
        return pendings

    async def _chunks(self, op: core.Op,
                      build: Callable[[int], bytes]) -> AsyncGenerator[core.Chunk, None]:
        """A multipart request whose chunks are handed over as they arrive."""
        stream = DumpStream(self)
        await self._acquire_dump_slot(op, stream)
        try:
            (p,) = self._submit([(op, build, True)], stream=stream)
            stream.record = p
        except BaseException:
            self._core.release_dump(core.RESERVED)
            raise
        try:
            while True:
                chunk = await stream.next()
                yield chunk
                if chunk.end is True:
                    return
        finally:
            if not stream.finished:  # the consumer left: drop the rest when it comes
                self._core.abandon(p)
                stream.abort(None)
                self._steer()

    async def _acquire_dump_slot(self, op: core.Op, stream: Optional[DumpStream]) -> None:
        """Wait until no dump runs on the request socket (the kernel allows one)."""
        table = self._core
        loop = self._attach()
        start = loop.time()
        while table.dump_owner is not None:
            self._check_open()
            held = table.dump_stream
            if held is not None and not held.closed and held.task is asyncio.current_task():
                raise core.busy_error(op, "task")
            # an abandoned dump draining is progress
            deadline = max(start, self._rx_at) + self.timeout
            if loop.time() >= deadline:
                if core.dump_lost(table):
                    break
                raise core.slot_timeout(op, self.timeout)
            waiter = table.dump_waiter
            if waiter is None or waiter.done():
                waiter = table.dump_waiter = loop.create_future()
            try:
                async with asyncio.timeout_at(deadline):
                    await asyncio.shield(waiter)  # shared by the tasks waiting
            except TimeoutError:
                pass
        table.acquire_dump(stream)

    async def _wait_one(self, p: core.Pending[DumpStream]) -> None:
        """Wait for a request's answer; Timeout ``timeout`` s after it was sent
        (time queued behind requests that are moving does not count)."""
        loop = self._bound_loop
        start = loop.time()
        try:
            while not p.done:
                sent = p.sent_at if p.sent_at is not None else self._tx_at
                deadline = max(start, sent) + self.timeout
                if loop.time() >= deadline:
                    self._core.expire(p, core.timeout_error(p, self.timeout))
                    break
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._waiter(p)
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            self._give_up(p)
            raise

    async def _wait_all(self, records: list[core.Pending[DumpStream]]) -> None:
        """Wait for many requests; they time out when nothing was sent or
        received for ``timeout`` seconds."""
        loop = self._bound_loop
        start = loop.time()
        i, n = 0, len(records)
        while True:
            while i < n and records[i].done:
                i += 1
            if i == n:
                return
            deadline = max(start, self._tx_at, self._rx_at) + self.timeout
            if loop.time() >= deadline:
                for p in records[i:]:
                    self._core.expire(p, core.timeout_error(p, self.timeout))
                return
            try:
                async with asyncio.timeout_at(deadline):
                    await self._waiter(records[i])
            except TimeoutError:
                pass

    def _waiter(self, p: core.Pending[DumpStream]) -> core.Waiter:
        """The future the core resolves when ``p`` is (one awaiter at a time)."""
        waiter = p.waiter
        if waiter is None or waiter.done():
            waiter = p.waiter = self._bound_loop.create_future()
        return waiter

    def _give_up(self, p: core.Pending[DumpStream]) -> None:
        """The caller was cancelled: its request's answer is dropped when it comes."""
        if p.multi:  # its answer is still being read: the slot stays taken until it ends
            self._core.abandon(p)
        else:
            self._core.expire(p, core.make_error(_errno.ECANCELED, "cancelled", p.op))
        self._steer()

    def _consumer_idle(self, stream: DumpStream) -> None:
        """A dump's consumer took nothing for ``timeout``: it loses its dump."""
        self._core.abandon(stream.request)
        stream.abort(core.idle_error(stream.request, self.timeout))
        self._steer()

    # ---- sending -----------------------------------------------------------

    def _attach(self) -> asyncio.AbstractEventLoop:
        """The client's event loop: the running one, bound at first use."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._check_open()
            self._loop = loop
            self._tx_at = self._rx_at = loop.time()
            self._read(True)
        elif loop is not self._loop:
            raise RuntimeError("an rtshell.aio.Client is used on the event loop that first used it")
        return loop

    def _submit(self, items: list[core.Request], stream: Optional[DumpStream] = None,
                capture: bool = False) -> list[core.Pending[DumpStream]]:
        """Number, build, register and send (or queue) requests; see rtshell.client.core.Core.build."""
        self._check_open()
        self._attach()
        outgoing: list[core.Outgoing[DumpStream]] = []
        pendings = self._core.build(items, stream, capture, outgoing)
        self._queue_out(pendings, outgoing)
        return pendings

    def _send_batch_items(self, items: list[core.Item]) -> list[core.Pending[DumpStream]]:
        """Number, pack and send (or queue) batch requests; see rtshell.client.core.Core.pack."""
        self._check_open()
        self._attach()
        outgoing: list[core.Outgoing[DumpStream]] = []
        records = self._core.pack(items, outgoing)
        self._queue_out(records, outgoing)
        return records

    def _queue_out(self, records: list[core.Pending[DumpStream]],
                   outgoing: list[core.Outgoing[DumpStream]]) -> None:
        self._core.register(records)
        self._outq.extend(outgoing)
        self._pump()

    def _pump(self) -> None:
        """Send what is queued, as far as the in-flight window allows (flow
        control: the kernel queues every answer at once)."""
        table, outq = self._core, self._outq
        while outq and not self._writing and not self._closed:
            items = core.coalesce(outq, table.per_send)
            live = [p for it in items for p in it.pendings]
            count = sum(p.weight for p in live if not p.multi)
            if table.inflight and table.inflight + count > self._window:
                outq.extendleft(reversed(items))
                break
            data = b"".join(it.data for it in items)
            try:
                self._sock.send(data)
            except OSError as exc:
                if exc.errno in (_errno.EAGAIN, _errno.EWOULDBLOCK):
                    outq.extendleft(reversed(items))
                    self._writing = True
                    self._bound_loop.add_writer(self._sock.fileno(), self._writable)
                    break
                for p in table.send_failed(live, exc):
                    if p.stream is not None:
                        p.stream.abort(p.error)
                continue
            sockets.trace_to(self.trace, core.SEND, data)
            self._tx_at = self._bound_loop.time()
            table.sent(live, self._tx_at)
        self._steer()

    def _writable(self) -> None:
        self._bound_loop.remove_writer(self._sock.fileno())
        self._writing = False
        self._pump()

    # ---- receiving ---------------------------------------------------------

    def _readable(self) -> None:
        """The request socket has data: take in what is queued."""
        self._read_socket(self._sock, "request", self._read, self._replies, self._overran)
        self._pump()  # answers free room in the window

    def _read_socket(self, sock: nl.NetlinkSocket, what: str, switch: Callable[[bool], None],
                     take: Callable[[bytes], bool], overran: Callable[[], bool],
                     reads: int = READS_PER_WAKE) -> None:
        """Take in up to ``reads`` receive buffers of ``sock``, each by ``take``
        (False: read no more now); ``overran()`` on ENOBUFS (False: stop)."""
        for _ in range(reads):
            try:
                buf = sock.recv(0, queued=True)
            except errors.Overrun:
                if overran():
                    continue
                return
            except OSError as exc:
                log.error("%s socket: %s", what, exc)
                switch(False)  # leave it unread for a moment: no busy loop
                self._bound_loop.call_later(sockets.POLL_INTERVAL, switch, True)
                return
            if buf is None or not take(buf):
                return

    def _replies(self, buf: bytes) -> bool:
        """A receive buffer of the request socket: its messages matched to requests."""
        self._rx_at = self._bound_loop.time()
        msgs = sockets.parsed(self.trace, buf)
        if msgs is not None:
            _wake, chunks = self._core.receive(msgs)  # the core resolves the waiters
            for p, stream, chunk in chunks:
                if stream.closed:
                    if chunk.end is None:
                        self._core.abandon(p)
                else:
                    stream.put(chunk)
            self._steer()
        return self._reading  # back-pressure

    def _overran(self) -> bool:
        self._core.overran()
        log.warning("request socket overran: replies were lost")
        return True

    def _steer(self) -> None:
        """Back-pressure: no reading while a dump's consumer lags (its stream
        is full) and no other request awaits its answer."""
        stream = self._core.dump_stream
        lagging = stream is not None and stream.full
        self._read(not lagging or self._core.inflight > 0)

    def _read(self, on: bool) -> None:
        self._reading = self._watch(self._sock, self._readable, self._reading, on)

    def _watch(self, sock: Optional[nl.NetlinkSocket], callback: Callable[[], None], now: bool,
               on: bool) -> bool:
        """Have the loop call ``callback`` when ``sock`` is readable, or stop; whether it does."""
        if on == now or sock is None or self._loop is None or self._closed:
            return now
        if on:
            self._loop.add_reader(sock.fileno(), callback)
        else:
            self._loop.remove_reader(sock.fileno())
        return on
