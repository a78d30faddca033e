"""The threaded client's request side: the request socket, a sender thread
that keeps what is outstanding within the receive buffer (flow control), a
receiver thread that hands every reply to the core, the waits, the one dump
slot of the request socket, and the dumps read on sockets of their own."""

from __future__ import annotations

import collections
import errno as _errno
import logging
import threading
import time
from typing import Callable, Generator, Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell.client.base import ClientBase
from rtshell.client.core import (RESERVED, SEND, Chunk, Core, Item, Op, Outgoing, Pending, Request,
                                 chunk_part, closed_error, coalesce, dump_lost, make_error,
                                 slot_timeout, timeout_error)
from rtshell.client.sockets import POLL_INTERVAL, parsed, read_loop, trace_to, window_of

log = logging.getLogger(__name__)


class Transport(ClientBase[None]):
    """The request side of :class:`rtshell.client.Client` (its base class).

    The core's numbering runs under ``_send_lock``, its matching under
    ``_cv``; the sender and the receiver are the two threads.
    """

    timeout: float
    trace: Optional[Callable[[str, bytes], None]]
    _socket_factory: Callable[..., nl.NetlinkSocket]

    def _open_requests(self, rcvbuf: Optional[int]) -> None:
        """The request socket, the core and the send queue; the threads start
        with :meth:`_start_threads`."""
        self._rcvbuf = rcvbuf  # of the request socket, and of each dump's own
        self._sock = self._socket_factory(groups=0, rcvbuf=rcvbuf)
        self._window, self._per_send = window_of(self._sock)
        self._core = Core(self._per_send)
        self._cv = threading.Condition()
        self._tx_progress = 0  # buffers sent
        self._rx_progress = 0  # buffers received
        self._send_lock = threading.Lock()
        self._outq: collections.deque[Optional[Outgoing[None]]] = collections.deque()
        self._outq_cv = threading.Condition(self._send_lock)
        self._stopping = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="rtshell-send", daemon=True)
        self._receiver = threading.Thread(target=self._recv_loop, name="rtshell-recv", daemon=True)

    def _start_threads(self) -> None:
        self._sender.start()
        self._receiver.start()

    def _stop_requests(self) -> None:
        """Fail what is waiting and stop the sender (close())."""
        with self._cv:
            self._core.fail_all(closed_error)
            self._cv.notify_all()
        self._stopping.set()
        with self._outq_cv:
            self._outq.append(None)
            self._outq_cv.notify_all()

    def _submit(self, items: list[Request], capture: bool = False) -> list[Pending[None]]:
        """Number, build, register and queue requests; their records, in order.

        ``items``: ``(op, build, multi)``, see :meth:`Core.build` (the
        sender joins small neighbouring buffers into one sendmsg).  Batches
        of route changes go through :meth:`_send_batch_items` instead.
        """
        self._check_open()
        outgoing: list[Outgoing[None]] = []
        with self._send_lock:
            pendings = self._core.build(items, None, capture, outgoing)
            self._queue_out(pendings, outgoing)
        return pendings

    def _queue_out(self, records: list[Pending[None]],
                   outgoing: list[Outgoing[None]]) -> None:
        """Register records (those not already answered) and hand their buffers
        to the sender (under _send_lock)."""
        with self._cv:
            if self._closed:
                raise closed_error(None)
            self._core.register(records)
        self._outq.extend(outgoing)
        self._outq_cv.notify_all()

    def _call(self, op: Op, build: Callable[[int], bytes],
              multi: bool = False) -> Pending[None]:
        """One request, answered in full (multipart collected); raises its error."""
        if multi:
            self._acquire_dump_slot(op)
        try:
            (p,) = self._submit([(op, build, multi)])
        except BaseException:
            if multi:
                self._release_dump_slot(RESERVED)
            raise
        self._wait_one(p)
        if p.error is not None:
            raise p.error
        return p

    def _own_dump(self, op: Op, build: Callable[[int], bytes]) -> Generator[Chunk, None, None]:
        """A dump on a socket of its own, read in the consumer's thread, chunk by chunk.

        The kernel makes a dump's next buffer only when its socket is read
        (``netlink_recvmsg``), so the consumer's pace is the dump's pace: no
        buffer between them, no limit on a pause, and the request socket
        stays free for everything else.  Closing the generator closes the
        socket, and the kernel drops the rest of the dump.
        """
        self._check_open()
        sock = self._socket_factory(groups=0, rcvbuf=self._rcvbuf)
        try:
            seq = 1  # the socket carries this one request
            data = build(seq)
            trace_to(self.trace, SEND, data)
            sock.send(data)
            while True:
                chunk = Chunk()
                for m in self._dump_buffer(sock, op):
                    if m.seq == seq and chunk.end is None:
                        chunk_part(chunk, m, op)
                if isinstance(chunk.end, BaseException):
                    raise chunk.end
                yield chunk
                if chunk.end is True:
                    return
        finally:
            sock.close()

    def _dump_buffer(self, sock: nl.NetlinkSocket, op: Op) -> list[nl.Message]:
        """The next receive buffer of a dump's own socket; Timeout if the kernel
        sends nothing for ``timeout`` seconds after it was asked."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self._closed:
                raise closed_error(op)
            left = deadline - time.monotonic()
            if left <= 0:
                raise make_error(_errno.ETIMEDOUT, f"no dump data for {self.timeout:g} s", op)
            try:
                buf = sock.recv(min(left, POLL_INTERVAL), queued=True)
            except errors.Overrun:
                # a dump is made only into free room: this should not happen
                raise make_error(_errno.ENOBUFS, "the dump socket overran: routes were lost",
                                  op) from None
            if buf is None:
                continue
            msgs = parsed(self.trace, buf)
            if msgs is None:
                raise make_error(_errno.EBADMSG, "cannot parse the kernel's answer", op)
            return msgs

    def _acquire_dump_slot(self, op: Op) -> None:
        """Wait until no dump runs on the request socket (the kernel allows one).

        Only the client's own multipart requests (bulk lookups, snapshot
        reads) take it; they are read by the receiver and never pause.
        """
        core = self._core
        with self._cv:
            progress = self._rx_progress
            deadline = time.monotonic() + self.timeout
            while core.dump_owner is not None:
                if self._closed:
                    raise closed_error(op)
                now = time.monotonic()
                if self._rx_progress != progress:  # an abandoned dump is draining
                    progress, deadline = self._rx_progress, now + self.timeout
                if now >= deadline:
                    if dump_lost(core):
                        break
                    raise slot_timeout(op, self.timeout)
                self._cv.wait(min(deadline - now, POLL_INTERVAL))
            core.acquire_dump(None)

    def _release_dump_slot(self, seq: int) -> None:
        """The dump ``seq`` is over on the socket (under _cv or not)."""
        with self._cv:
            if self._core.release_dump(seq):
                self._cv.notify_all()

    def _wait_one(self, p: Pending[None]) -> None:
        """Wait for a request's answer; Timeout ``timeout`` s after it was sent."""
        with self._cv:
            progress = self._tx_progress
            deadline = time.monotonic() + self.timeout
            while not p.done:
                now = time.monotonic()
                if p.sent_at is not None:
                    deadline = max(deadline, p.sent_at + self.timeout)
                elif self._tx_progress != progress:  # queued behind moving requests
                    progress, deadline = self._tx_progress, now + self.timeout
                if now >= deadline:
                    self._expire(p)
                    break
                self._cv.wait(min(deadline - now, POLL_INTERVAL))

    def _wait_all(self, pendings: list[Pending[None]]) -> None:
        """Wait for many requests.

        Times out when nothing was sent or received for ``timeout`` seconds;
        the requests still unanswered then fail with Timeout.  Answers come
        roughly in order, so a cursor skips the answered ones (O(n) overall).
        """
        n = len(pendings)
        i = 0
        with self._cv:
            progress = (self._tx_progress, self._rx_progress)
            deadline = time.monotonic() + self.timeout
            while True:
                while i < n and pendings[i].done:
                    i += 1
                if i == n:
                    return
                now = time.monotonic()
                moved = (self._tx_progress, self._rx_progress)
                if moved != progress:
                    progress, deadline = moved, now + self.timeout
                if now >= deadline:
                    for p in pendings[i:]:
                        self._expire(p)
                    return
                self._cv.wait(min(deadline - now, POLL_INTERVAL))

    def _expire(self, p: Pending[None]) -> None:
        """Give up on a request (under _cv): Timeout; its late replies will be dropped."""
        if not p.done:
            self._core.expire(p, timeout_error(p, self.timeout))
            self._cv.notify_all()

    def _send_loop(self) -> None:
        core = self._core
        sock = self._sock
        assert sock is not None
        while True:
            with self._outq_cv:
                while not self._outq:
                    self._outq_cv.wait()
                if self._outq[0] is None:
                    return
                items = coalesce(self._outq, self._per_send)
            live = [p for it in items for p in it.pendings]
            count = sum(p.weight for p in live if not p.multi)
            with self._cv:
                # flow control: the kernel queues every reply at once, keep
                # what is outstanding within the receive buffer
                while (core.inflight and core.inflight + count > self._window
                       and not self._closed):
                    self._cv.wait(POLL_INTERVAL)
                if self._closed:
                    return
                core.sent(live, time.monotonic())
            data = b"".join(it.data for it in items)
            trace_to(self.trace, SEND, data)
            try:
                sock.send(data)
            except OSError as exc:
                with self._cv:
                    core.send_failed(live, exc)
                    self._cv.notify_all()
                continue
            with self._cv:
                self._tx_progress += 1
                self._cv.notify_all()

    def _recv_loop(self) -> None:
        assert self._sock is not None
        read_loop(self._sock, self._stopping, "request", self._received, self._overran)

    def _received(self, buf: bytes) -> None:
        msgs = parsed(self.trace, buf)
        if msgs is not None:
            self._dispatch(msgs)

    def _overran(self) -> None:
        with self._cv:
            self._core.overran()
        log.warning("request socket overran: replies were lost")

    def _dispatch(self, msgs: list[nl.Message]) -> None:
        """Match a receive buffer's messages to requests (receiver thread)."""
        with self._cv:
            self._rx_progress += 1
            wake, _ = self._core.receive(msgs)  # no streaming request on this socket
            if wake:
                self._cv.notify_all()

    def _send_batch_items(self, items: list[Item]) -> list[Pending[None]]:
        """Number, pack and queue batch requests ``(verb, obj)``; see :meth:`Core.pack`."""
        self._check_open()
        outgoing: list[Outgoing[None]] = []
        with self._send_lock:
            records = self._core.pack(items, outgoing)
            self._queue_out(records, outgoing)
        return records


