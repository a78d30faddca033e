"""The threaded client: the core driven by a sender and a receiver thread."""

from __future__ import annotations

import collections
import errno as _errno
import functools
import logging
import threading
import time
from typing import (Any, Callable, Generator, Generic, Iterable, Iterator, Optional, TypeVar, Union,
                    overload)

from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import TABLE_MAIN, Event, Filter, Network, Route, Stats
from rtshell.client.base import ClientBase
from rtshell.client.batch import Batch
from rtshell.client.core import Address, Chunk, Core, DUMP_ATTEMPTS, Item, Op, Outgoing, Pending, Plan, RECV, RESERVED, Request, SEND, chunk_part, closed_error, coalesce, dump_interrupted, dump_lost, make_error, slot_timeout, timeout_error
from rtshell.client.dumps import DumpReader
from rtshell.client.notifications import MONITOR_DEPTH, Mirror, Monitor, OVERRUN, Subscription, deliver_all, events_in
from rtshell.client.plans import dump_request, change_plan, delete_plan, flush_plan, get_plan, lookup_many_plan, lookup_plan, stats_plan
from rtshell.client.sockets import NOTIFY_RCVBUF, POLL_INTERVAL, REQUEST_RCVBUF, parsed, trace_to, window_of
from rtshell.model import LookupResult

log = logging.getLogger(__name__)

_T = TypeVar("_T")

class Client(ClientBase[None]):
    """A connection to rtmgr: request and notification sockets plus threads.

    ``timeout``: seconds any wait may last (see the module documentation).
    ``rcvbuf``: receive buffer of the request socket (large: a batch's ACKs
    are queued while it is processed; the client keeps no more requests
    outstanding than their answers can fill).  ``notify_rcvbuf``: receive
    buffer of the notification socket (None: the system default).  Without
    CAP_NET_ADMIN the kernel caps both at net.core.rmem_max.

    Raises :class:`~rtshell.errors.ModuleNotLoaded` when rtmgr is not loaded.

    Attributes: ``timeout`` and ``trace`` (``callable(direction, bytes)``
    with direction ``"send"`` or ``"recv"``, called on the sending or
    receiving thread for every buffer) may be set at any time; ``portid``
    (notifications carry it), ``closed``; counters ``dropped`` (replies to
    no current request: late or of abandoned dumps), ``dump_restarts``
    (dumps retried after NLM_F_DUMP_INTR) and ``resyncs`` (notification
    overruns repaired).  Call :meth:`close` (or use ``with``): the threads
    keep the client alive until then.
    """

    def __init__(self, timeout: float = 5.0, *, rcvbuf: Optional[int] = REQUEST_RCVBUF,
                 notify_rcvbuf: Optional[int] = NOTIFY_RCVBUF,
                 _socket_factory: Optional[Callable[..., nl.NetlinkSocket]] = None) -> None:
        self.timeout = float(timeout)
        self.trace: Optional[Callable[[str, bytes], None]] = None
        self._socket_factory = _socket_factory or nl.NetlinkSocket
        self._notify_rcvbuf = notify_rcvbuf
        self._rcvbuf = rcvbuf  # of the request socket, and of each dump's own
        self._sock = self._socket_factory(groups=0, rcvbuf=rcvbuf)
        self._window, self._per_send = window_of(self._sock)

        # the protocol core: its numbering under _send_lock, its matching under _cv
        self._core = Core(self._per_send)
        self._cv = threading.Condition()
        self._tx_progress = 0  # buffers sent
        self._rx_progress = 0  # buffers received
        self._closed = False
        self.dump_restarts = 0  # dumps started again after NLM_F_DUMP_INTR

        # the send queue, under _send_lock
        self._send_lock = threading.Lock()
        self._outq: collections.deque[Optional[Outgoing[None]]] = collections.deque()
        self._outq_cv = threading.Condition(self._send_lock)

        # notifications, under _sub_lock
        self._sub_lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._nsock: Optional[nl.NetlinkSocket] = None
        self._notifier: Optional[threading.Thread] = None
        self._mirror = Mirror()  # the table, while resync is wanted
        self._model_ready = threading.Condition(self._sub_lock)

        self._stopping = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="rtshell-send", daemon=True)
        self._receiver = threading.Thread(target=self._recv_loop, name="rtshell-recv", daemon=True)
        self._sender.start()
        self._receiver.start()

    # ---- lifecycle -------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests sent or queued whose answer has not arrived yet."""
        with self._cv:
            return self._core.outstanding

    def close(self) -> None:
        """Stop the threads, fail what is still waiting, close the sockets.

        Idempotent.  Safe to call from a subscriber callback (the notifier
        thread is then not joined, it ends by itself).
        """
        with self._cv:
            if self._closed:
                return
            self._closed = True
            self._core.fail_all(closed_error)
            self._cv.notify_all()
        self._stopping.set()
        with self._outq_cv:
            self._outq.append(None)
            self._outq_cv.notify_all()
        me = threading.current_thread()
        for thread in (self._sender, self._receiver, self._notifier):
            if thread is not None and thread is not me and thread.is_alive():
                # bounded: a subscriber callback that never returns must not
                # hang close() (the thread is a daemon and ends with it)
                thread.join(self.timeout + 2 * POLL_INTERVAL)
                if thread.is_alive():
                    log.warning("%s did not stop within %g s", thread.name, self.timeout)
        self._close_sockets()
        with self._sub_lock:
            for sub in self._subs:
                sub.closed = True
            self._subs.clear()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the route API ---------------------------------------------------

    def add(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Create a route; RouteExists if its key is taken.  With ``echo``, the route as created."""
        return self._drive(change_plan("add", route, echo))

    def replace(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Create the route or overwrite the value of the one with its key."""
        return self._drive(change_plan("replace", route, echo))

    def change(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Overwrite an existing route; RouteNotFound if there is none."""
        return self._drive(change_plan("change", route, echo))

    def append(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Add next hops to a unicast route (which becomes multipath), or create it."""
        return self._drive(change_plan("append", route, echo))

    @overload
    def delete(self, target: Route, echo: bool = False) -> Optional[Route]: ...
    @overload
    def delete(self, target: Filter, echo: bool = False) -> int: ...

    def delete(self, target: Union[Route, Filter], echo: bool = False) -> Union[Route, int, None]:
        """Delete a route, or every route passing a Filter.

        Route: dst and table name the route; gateway, oif, metric, and a type
        or proto other than UNSPEC / 0, must match it (NoSuchRoute otherwise).
        Returns the deleted route with ``echo``.  Filter: the same as
        :meth:`flush`, returns the number of routes deleted.
        """
        return self._drive(delete_plan(target, echo))

    def get(self, dst: Union[Network, str], table: int = TABLE_MAIN, metric: Optional[int] = None) -> Route:
        """The route with exactly this key (metric None: the prefix's
        lowest-metric route); RouteNotFound if there is none."""
        return self._drive(get_plan(dst, table, metric))

    def lookup(self, addr: Union[Address, str], table: int = TABLE_MAIN) -> Route:
        """The longest-prefix match of ``addr``; NoRoute if nothing matches."""
        return self._drive(lookup_plan(addr, table))

    def lookup_many(self, addrs: Iterable[Union[Address, str]],
                    table: int = TABLE_MAIN) -> list[LookupResult]:
        """Longest-prefix matches of many addresses, in their order.

        One bulk (``NLM_F_DUMP``) request per family and per
        ``RTMGR_MAX_LOOKUP_ADDRS`` addresses.  Each answer is an exact
        longest-prefix match at the moment it was computed.
        """
        return self._drive(lookup_many_plan(addrs, table))

    def flush(self, filter: Optional[Filter] = None) -> int:
        """Delete every route passing ``filter`` (None: every route); the count."""
        return self._drive(flush_plan(filter))

    def stats(self, *, tables: bool = True) -> Stats:
        """The module's counters for this network namespace.

        ``tables=True`` also lists the routes of every (table, family): a
        multipart answer of one message per pair, retried if the tables
        changed under it.  ``tables=False`` asks for the totals alone (one
        small message whatever the number of tables), for pollers.
        """
        return self._drive(stats_plan(tables))

    def dump(self, filter: Optional[Filter] = None, *, consistent: bool = False) -> Iterator[Route]:
        """Every route passing ``filter``, in the kernel's order, as it arrives.

        ``consistent=False`` streams (memory: a few buffers); an interrupted
        dump restarts and resumes after the last route yielded.
        ``consistent=True`` yields only a dump that ran uninterrupted: one
        snapshot of the table (memory: the whole answer once).  Close the
        iterator (or drop it) to abandon the dump.

        Each dump runs on a netlink socket of its own, read in the
        consumer's thread: the consumer may pause as long as it likes (a
        reader in a pager), nothing is buffered meanwhile, and other
        requests, dumps and bulk lookups, of any thread, go on.
        """
        op, build, _multi = dump_request(filter)
        reader = DumpReader(op, consistent)
        while reader.attempt(self):
            chunks = self._own_dump(op, build)
            try:
                for chunk in chunks:
                    yield from reader.take(chunk)
                    if reader.interrupted:
                        break
            finally:
                chunks.close()  # abandons the rest of an unfinished attempt

    def batch(self, atomic: bool = False, raise_on_error: bool = True) -> "Batch":
        """A batch of changes sent in as few ``sendmsg`` calls as fit; see :class:`Batch`."""
        return Batch(self, atomic=atomic, raise_on_error=raise_on_error)

    # ---- running plans (see ask) ------------------------------------------

    def _drive(self, plan: Plan[_T]) -> _T:
        """Run a plan: perform each step it yields, give it the outcome; its result."""
        outcome: Any = None
        try:
            while True:
                name, *args = plan.send(outcome)
                outcome = getattr(self, name)(*args)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        finally:
            plan.close()

    def _call_all(self, items: list[Request]) -> list[Pending[None]]:
        """Requests ``(op, build, False)`` pipelined, each answered or failed (not raised)."""
        pendings: list[Pending[None]] = []
        for start in range(0, len(items), Batch.SEND_RUN):  # the sender starts meanwhile
            pendings.extend(self._submit(items[start:start + Batch.SEND_RUN]))
        self._wait_all(pendings)
        return pendings

    def _snapshot(self, filter: Optional[Filter]) -> list[Route]:
        """One uninterrupted dump, collected (memory: the answer once)."""
        return list(self.dump(filter, consistent=True))

    # ---- notifications ---------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None], filter: Optional[Filter] = None,
                  *, resync: bool = False) -> Subscription:
        """Call ``callback(event)`` for every change (on the notifier thread).

        ``filter`` selects route events (flush events always pass).
        ``resync=True``: the client keeps a copy of the table while such a
        subscriber exists; the callback first gets a ResyncEvent with
        ``initial=True`` listing every current route, and after a
        notification overrun a ResyncEvent with the difference.
        """
        self._check_open()
        sub = Subscription(self, callback, filter, resync)
        self._start_notifier()
        for _attempt in range(DUMP_ATTEMPTS):
            if resync:
                self._build_model()
            with self._sub_lock:
                if resync:
                    if self._mirror.model is None:  # the last resync subscriber left meanwhile
                        continue
                    sub._first = sub.wants(self._mirror.first())
                self._subs.append(sub)
                return sub
        raise dump_interrupted(Op("show", None))

    def monitor(self, filter: Optional[Filter] = None, *, resync: bool = False) -> Monitor:
        """An iterator of events (subscribed at once), until closed or the client closes.

        Buffers up to ``MONITOR_DEPTH`` events; a consumer that falls further
        behind gets ``Overrun`` from ``next()`` (and may go on iterating).
        """
        self._check_open()
        return Monitor(self, filter, resync, MONITOR_DEPTH)

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._sub_lock:
            if sub in self._subs:
                self._subs.remove(sub)
            self._mirror.release(self._subs)

    def _start_notifier(self) -> None:
        with self._sub_lock:
            if self._nsock is not None:
                return
            self._nsock = self._socket_factory(groups=nl.GROUP_ROUTE, rcvbuf=self._notify_rcvbuf)
            self._notifier = threading.Thread(target=self._notify_loop, args=(self._nsock,),
                                              name="rtshell-notify", daemon=True)
            self._notifier.start()

    def _build_model(self) -> None:
        """Make sure the mirror of the table exists (see :class:`Mirror`).

        Called with the notification socket already joined; a thread that
        finds another building it waits for that one.
        """
        mirror = self._mirror
        with self._sub_lock:
            while mirror.building:
                if not self._model_ready.wait(self.timeout):
                    raise errors.error_for(_errno.ETIMEDOUT, None, "subscribe", None,
                                           "table snapshot not ready")
            if mirror.model is not None:
                return
        for _attempt in range(DUMP_ATTEMPTS):
            with self._sub_lock:
                mirror.begin()
            routes = None
            try:
                routes = self._snapshot(None)
            finally:
                with self._sub_lock:
                    mirror.end(routes)
                    self._model_ready.notify_all()
            if mirror.model is not None:
                return
        raise dump_interrupted(Op("show", None))

    def _notify_loop(self, sock: nl.NetlinkSocket) -> None:
        while not self._stopping.is_set():
            self._deliver_firsts()
            try:
                buf = sock.recv(POLL_INTERVAL, queued=True)
            except errors.Overrun:
                self._drain(sock)
                self._resync()
                continue
            except OSError as exc:
                if self._stopping.is_set():
                    break
                log.error("notification socket: %s", exc)
                time.sleep(POLL_INTERVAL)
                continue
            if buf is not None:
                self._notification_buffer(buf)

    def _notification_buffer(self, buf: bytes) -> None:
        trace_to(self.trace, RECV, buf)
        events = events_in(buf)
        if events:
            with self._sub_lock:
                self._mirror.apply(events)
                subs = list(self._subs)
            deliver_all(subs, events)

    def _drain(self, sock: nl.NetlinkSocket) -> None:
        """After an overrun: take in every event still queued, before the resync dump.

        The kernel reports ENOBUFS before the messages queued ahead of the
        lost ones.  Those are older than the dump about to be taken; applied
        after it they would turn routes back to stale states that no later
        event corrects (that later event may be among the lost ones).
        Events queued once the socket is empty are newer than the drain, so
        applying them after the dump is right.  Bounded by ``timeout`` under
        a flood.
        """
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            try:
                buf = sock.recv(0, queued=True)
            except errors.Overrun:
                continue  # lost more: the resync below covers it too
            except OSError:
                return
            if buf is None:
                return
            self._notification_buffer(buf)

    def _deliver_firsts(self) -> None:
        with self._sub_lock:
            firsts = [s for s in self._subs if s._first is not None]
        for sub in firsts:
            sub.deliver_first()

    def _resync(self) -> None:
        """Events were lost: compare a fresh dump with the mirror and tell subscribers."""
        with self._sub_lock:
            tracking = self._mirror.lost()
            subs = list(self._subs)
        if not tracking:
            deliver_all(subs, [OVERRUN])
            return
        try:
            fresh = self._snapshot(None)
        except (errors.RtmgrError, OSError) as exc:
            if not self._stopping.is_set():
                log.error("resync after notification overrun failed: %s", exc)
                deliver_all(subs, [OVERRUN])
            return
        with self._sub_lock:
            event = self._mirror.resync(fresh)
            subs = list(self._subs)
        deliver_all(subs, [event])

    # ---- sending and receiving ------------------------------------------

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
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                buf = sock.recv(POLL_INTERVAL, queued=True)
            except errors.Overrun:
                with self._cv:
                    self._core.overran()
                log.warning("request socket overran: replies were lost")
                continue
            except OSError as exc:
                if self._stopping.is_set():
                    break
                log.error("request socket: %s", exc)
                time.sleep(POLL_INTERVAL)
                continue
            if buf is not None:
                msgs = parsed(self.trace, buf)
                if msgs is not None:
                    self._dispatch(msgs)

    def _dispatch(self, msgs: list[nl.Message]) -> None:
        """Match a receive buffer's messages to requests (receiver thread)."""
        with self._cv:
            self._rx_progress += 1
            wake, _ = self._core.receive(msgs)  # no streaming request on this socket
            if wake:
                self._cv.notify_all()

    # ---- batches ----------------------------------------------------------

    def _send_batch_items(self, items: list[Item]) -> list[Pending[None]]:
        """Number, pack and queue batch requests ``(verb, obj)``; see :meth:`Core.pack`."""
        self._check_open()
        outgoing: list[Outgoing[None]] = []
        with self._send_lock:
            records = self._core.pack(items, outgoing)
            self._queue_out(records, outgoing)
        return records


