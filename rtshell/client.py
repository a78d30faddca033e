"""The threaded rtmgr client (issue #4).

A :class:`Client` owns two netlink sockets and up to three threads:

* the **request socket**, written by the *sender* thread and read by the
  *receiver* thread.  Every request gets the next sequence number; the
  receiver matches each reply to its request by that number and resolves it
  (ACK or error, reply messages, multipart answers up to ``NLMSG_DONE``);
* the **notification socket** (group ``RTMGR_GRP_ROUTE``), opened when the
  first subscriber arrives and read by the *notifier* thread, which calls
  the subscribers' callbacks.

Every blocking receive happens inside the C library with the GIL released,
so the threads never freeze the caller (or the shell's prompt).

The public API is synchronous: :meth:`Client.add` returns when the kernel
has answered; :meth:`Client.dump` returns an iterator that streams routes as
buffers arrive; :meth:`Client.batch` pipelines thousands of changes in a few
``sendmsg`` calls, each buffer's requests sent without ``NLM_F_ACK`` but the
last: the kernel then answers a buffer with its errors (each matched to its
request by sequence number) and one ACK, instead of an ACK per request.
Failures raise the exceptions of :mod:`rtshell.errors`, carrying the errno,
the kernel's extended-ACK text and a readable description of the request
(``route add 10.1.0.0/16 via 10.99.0.2 table 254``).

The protocol itself has no thread, lock or clock, and :mod:`rtshell.aio`
drives the same code from an event loop: :class:`_Core` (sequence numbers,
batch runs, matching replies to requests), the plans (what each call asks
and how it reads the answers, see :func:`_ask`), :class:`_DumpReader`
(interrupted dumps) and :class:`_Mirror` (the table kept for resync).

Guarantees a caller can rely on
-------------------------------
* **No wait is unbounded.**  A request that gets no answer raises
  :class:`~rtshell.errors.Timeout` after ``timeout`` seconds from the moment
  it was sent (time spent queued behind other requests that are moving does
  not count).  Batches and dumps time out when nothing moves for
  ``timeout`` seconds.
* **Dumps stream at the consumer's pace.**  Each ``dump()`` has a netlink
  socket of its own, read in the consumer's thread; the kernel makes a
  dump's next buffer only when its socket is read, so nothing is buffered
  between them and a consumer may pause as long as it likes (a reader in
  a pager) while every other request goes on.  A dump whose kernel sends
  nothing for ``timeout`` seconds raises ``Timeout``.  A dump left by its
  consumer (``close()``, garbage collection, ``KeyboardInterrupt``) closes
  its socket, and the kernel drops the rest.
* **Interrupted dumps** (``NLM_F_DUMP_INTR``: the table changed under the
  dump) are retried up to ``DUMP_ATTEMPTS`` times, then
  :class:`DumpInterrupted` is raised.  ``dump(consistent=False)`` (the
  default) streams: after an interruption it restarts the dump and skips
  every route up to the last one it yielded (the kernel sorts dumps), so the
  consumer sees each route at most once, in order, and sees every route that
  existed for the whole dump.  ``dump(consistent=True)`` collects each
  attempt and yields only an uninterrupted one: an exact snapshot of the
  table at one moment.
* **Lost notifications are repaired.**  When the notification socket
  overruns (``ENOBUFS``) while a subscriber asked for ``resync=True``, the
  client first takes in the events still queued, then dumps the table,
  compares it with the table it has been keeping from the events, and
  delivers to every subscriber a :class:`ResyncEvent` listing what was
  added, removed and changed during the gap.  With no such subscriber,
  subscribers get ``Event(kind="overrun", count=0)``: events were lost.

Thread safety: one client may be shared by any number of threads.
"""

from __future__ import annotations

import collections
import errno as _errno
import functools
import itertools
import logging
import os
import socket
import struct
import threading
import time
import weakref
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from types import TracebackType
from typing import (TYPE_CHECKING, Any, Callable, Generator, Generic, Iterable, Iterator, Literal,
                    Optional, Protocol, TypeVar, Union, overload)

from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import (
    TABLE_MAIN,
    Event,
    Filter,
    LookupResult,
    Match,
    Network,
    Route,
    RouteType,
    Stats,
    sort_key,
)

log = logging.getLogger(__name__)

Address = Union[IPv4Address, IPv6Address]
Key = tuple[int, int, Network, int]  # Route.key: (table, family, dst, metric)
# a request to number and send: (what it asks, build(seq) -> its bytes, multipart?)
_Request = tuple["_Op", Callable[[int], bytes], bool]
# a batch request: (verb, Route), or ("flush", Filter or None)
_RouteVerb = Literal["add", "replace", "change", "append", "delete"]
_Item = Union[tuple[_RouteVerb, Route], tuple[Literal["flush"], Optional[Filter]]]
# a plan's step: (the client method performing it, its arguments...)
_Step = tuple[Any, ...]
_T = TypeVar("_T")
# what a streaming request's chunks go to: DumpStream in rtshell.aio (None in the
# threaded client, whose dumps each read a socket of their own: Client._own_dump)
# (the core only holds it; each client reads the chunks the core cuts into it)
_StreamT = TypeVar("_StreamT")
# a plan: yields steps, is sent each step's outcome, returns the call's result
_Plan = Generator[_Step, Any, _T]


class _Waiter(Protocol):
    """What the core resolves: an asyncio future, as rtshell.aio sets one (and awaits)."""

    def done(self) -> bool: ...

    def set_result(self, result: None, /) -> None: ...

    def __await__(self) -> Generator[Any, None, None]: ...


class _HasRestarts(Protocol):
    """A client, as a dump's reader counts its restarts."""

    dump_restarts: int


class _Subscriber(Protocol):
    """A client, as a subscription sees it (either client): what ``close()`` tells."""

    def _unsubscribe(self, sub: Subscription) -> None: ...


_SortKey = tuple[int, int, int, int, int]  # model.sort_key

#: Seconds a receive call blocks before the thread checks whether to stop.
POLL_INTERVAL = 0.2
#: Receive buffers of parsed routes an rtshell.aio dump may hold before backpressure.
STREAM_DEPTH = 8
#: Attempts of an interrupted dump before DumpInterrupted is raised.
DUMP_ATTEMPTS = 5
#: Receive buffer asked for on the request socket (acks of big batches).
REQUEST_RCVBUF = 4 << 20
#: Receive buffer asked for on the notification socket: a batch of 1,024
#: changes is 1,024 notifications at once (about 1 KiB of truesize each);
#: the default (~208 KiB) overran on every such batch and each overrun
#: costs a resync dump of the whole table.
NOTIFY_RCVBUF = 8 << 20
#: Receive-buffer bytes one outstanding reply may cost the kernel (skb
#: truesize of a small ACK, rounded up generously).  Sets the in-flight window.
REPLY_COST = 2048
#: Bytes per sendmsg: requests queued together are sent in one call up to
#: this (well below the default socket send limit of ~208 KiB).
SEND_CHUNK = 64 << 10
#: Events a monitor() iterator buffers before it reports an overrun.
MONITOR_DEPTH = 1 << 16
#: Sequence numbers are 32-bit and never 0 (0 is what the kernel uses).
SEQ_MODULO = 1 << 32

_SEND, _RECV = "send", "recv"
_RESERVED = 0  # dump slot taken, request not numbered yet (seq 0 is never used)
_ANSWERS = frozenset({"route", "lookup", "flush", "stats"})  # reply records
_FLAGS_AT = struct.Struct("=H")  # nlmsg_flags, at offset 6 of a request


# --------------------------------------------------------------------------
# Exceptions and events the client adds to rtshell.errors / rtshell.model


class BatchError(errors.RtmgrError):
    """Some requests of a batch failed.

    ``failures``: ``[(index, RtmgrError), ...]`` in request order;
    ``results``: one entry per request, ``None`` (applied) or the error;
    ``undone``: for an atomic batch, a description of every undo request
    that was applied (``"route delete 10.1.0.0/16 table 254 (undoes #3)"``);
    ``undo_failures``: ``[(description, RtmgrError), ...]`` of undo requests
    that themselves failed (the table may then differ from before the batch).
    """

    def __init__(self, results: Iterable[Optional[errors.RtmgrError]],
                 failures: Iterable[tuple[int, errors.RtmgrError]], undone: Iterable[str] = (),
                 undo_failures: Iterable[tuple[str, errors.RtmgrError]] = (),
                 atomic: bool = False) -> None:
        self.results = list(results)
        self.failures = list(failures)
        self.undone = list(undone)
        self.undo_failures = list(undo_failures)
        self.atomic = atomic
        first = self.failures[0][1] if self.failures else None
        super().__init__(getattr(first, "errno", None) or _errno.EIO,
                         getattr(first, "ext_ack", None), getattr(first, "request", None),
                         getattr(first, "offset", None))

    def _summary(self) -> str:
        n = len(self.failures)
        head = f"{n} of {len(self.results)} batch request{'s' if len(self.results) != 1 else ''} failed"
        shown = "; ".join(f"#{i} {_error_text(e)}" for i, e in self.failures[:3])
        if n > 3:
            shown += f"; ... and {n - 3} more"
        text = f"{head}: {shown}"
        if self.atomic:
            text += f"; undid {len(self.undone)} change{'s' if len(self.undone) != 1 else ''}"
            if self.undo_failures:
                text += f", {len(self.undo_failures)} undo request(s) failed"
        return text

    def __str__(self) -> str:
        return self._summary()

    def __reduce__(self) -> tuple[type[errors.RtmgrError], tuple[object, ...]]:
        return (type(self), (self.results, self.failures, self.undone, self.undo_failures,
                             self.atomic))


class DumpInterrupted(errors.RtmgrError):
    """The table kept changing under a dump: every attempt was interrupted."""

    default_errno = _errno.EINTR
    advice = "the table changed under every attempt; try again when it is quieter"


def _error_text(exc: BaseException) -> str:
    """'<request>: <kernel text or strerror>' for a summary line."""
    req = getattr(exc, "request", None)
    num = getattr(exc, "errno", None)
    text = getattr(exc, "ext_ack", None) or (os.strerror(num) if num else str(exc))
    return f"{req}: {text}" if req else text


@dataclass(frozen=True)
class ResyncEvent(Event):
    """What changed while notifications were lost (kind ``"resync"``).

    Delivered after a notification overrun to every subscriber while at
    least one subscriber asked for ``resync=True`` (otherwise they get a
    plain ``Event(kind="overrun", count=0)``: events were lost, nothing
    more is known), and once, as the first event, to each ``resync=True``
    subscriber (then with ``initial=True`` and every current route in
    ``added``).  ``count`` is the number of routes listed.  Applying
    ``removed`` (delete by key), then ``added`` and ``changed`` (set by key)
    to a table that followed the events before the gap gives the kernel's
    table.  Events delivered after a resync may repeat changes it already
    contains; applying them again changes nothing.
    """

    added: tuple[Route, ...] = ()
    removed: tuple[Route, ...] = ()
    changed: tuple[Route, ...] = ()
    initial: bool = False

    def apply_to(self, table: dict[Key, Route]) -> None:
        """Bring a table that followed the events before the gap to the kernel's."""
        for route in self.removed:
            table.pop(route.key, None)
        for route in self.added + self.changed:
            table[route.key] = route


# --------------------------------------------------------------------------
# Describing requests (only when one fails)


#: Seconds a device name looked up for an error text is reused: a batch
#: whose thousand requests fail names the same device a thousand times, and
#: each if_indextoname() is a socket, an ioctl and a close.
DEV_NAME_TTL = 1.0
_DEV_NAMES: dict[int, tuple[float, str]] = {}  # ifindex -> (when, name)


def _dev(oif: int) -> str:
    now = time.monotonic()
    hit = _DEV_NAMES.get(oif)
    if hit is not None and now - hit[0] < DEV_NAME_TTL:
        return hit[1]
    try:
        name = socket.if_indextoname(oif)
    except (OSError, TypeError, ValueError):
        name = f"if{oif}"
    if len(_DEV_NAMES) >= 4096:
        _DEV_NAMES.clear()
    _DEV_NAMES[oif] = (now, name)
    return name


def route_text(route: Route) -> str:
    """A route the way ``ip route`` would spell it, table always shown."""
    parts = []
    if route.type not in (RouteType.UNICAST, RouteType.UNSPEC):
        parts.append(route.type.name.lower())
    parts.append(str(route.dst))
    if route.gateway is not None:
        parts.append(f"via {route.gateway}")
    if route.oif is not None:
        parts.append(f"dev {_dev(route.oif)}")
    for hop in route.nexthops:
        hop_text = ["nexthop"]
        if hop.gateway is not None:
            hop_text.append(f"via {hop.gateway}")
        if hop.oif is not None:
            hop_text.append(f"dev {_dev(hop.oif)}")
        if hop.weight != 1:
            hop_text.append(f"weight {hop.weight}")
        parts.append(" ".join(hop_text))
    if route.proto:
        parts.append(f"proto {route.proto}")
    if route.metric:
        parts.append(f"metric {route.metric}")
    parts.append(f"table {route.table}")
    return " ".join(parts)


def filter_text(flt: Optional[Filter]) -> str:
    """A filter as the words of ``route show`` / ``route flush``."""
    if flt is None:
        return ""
    parts = []
    if flt.family is not None:
        parts.append(f"-{flt.family}")
    if flt.prefix is not None:
        parts.append(f"{flt.match.name.lower()} {flt.prefix}")
    if flt.table is not None:
        parts.append(f"table {flt.table}")
    if flt.type is not None:
        parts.append(f"type {RouteType(flt.type).name.lower()}")
    if flt.proto is not None:
        parts.append(f"proto {flt.proto}")
    if flt.gateway is not None:
        parts.append(f"via {flt.gateway}")
    if flt.oif is not None:
        parts.append(f"dev {_dev(flt.oif)}")
    if flt.metric is not None:
        parts.append(f"metric {flt.metric}")
    return " ".join(parts)


class _Op:
    """What a request asked for; turned into text only when it fails."""

    __slots__ = ("verb", "obj", "table")

    def __init__(self, verb: str, obj: object = None, table: Optional[int] = None) -> None:
        self.verb = verb
        self.obj = obj
        self.table = table

    def describe(self) -> str:
        verb, obj = self.verb, self.obj
        if isinstance(obj, Route):
            return f"route {verb} {route_text(obj)}"
        if verb in ("show", "flush") and (obj is None or isinstance(obj, Filter)):
            rest = filter_text(obj)
            return f"route {verb} {rest}".rstrip()
        if verb == "lookup-many" and isinstance(obj, list):
            return f"route lookup {len(obj)} addresses table {self.table}"
        if verb == "stats":
            return "stats"
        if verb == "batch":
            return "batch"
        if self.table is not None:
            return f"route {verb} {obj} table {self.table}"
        return f"route {verb} {obj}"

    __str__ = describe


def _dump_interrupted(op: _Op) -> "DumpInterrupted":
    return DumpInterrupted(_errno.EINTR,
                           f"dump interrupted {DUMP_ATTEMPTS} times by concurrent changes",
                           op.describe())


def _make_error(err: int, detail: Optional[str], op: Optional[_Op],
                offset: Optional[int] = None) -> errors.RtmgrError:
    """An error the client found itself (``detail`` says what), not a kernel answer."""
    return errors.error_for(err, None, op.describe() if op is not None else None, offset, detail)


# --------------------------------------------------------------------------
# Request bookkeeping


class _Chunk:
    """What one receive buffer brought a streaming request."""

    __slots__ = ("routes", "intr_at", "end")

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.intr_at: Optional[int] = None  # first route of a flagged message
        # None: more to come; True: NLMSG_DONE; or the error that ended it
        self.end: Union[None, bool, errors.RtmgrError] = None


class _Pending(Generic[_StreamT]):
    """One request in flight: what the receiver fills in and the caller waits for."""

    __slots__ = ("seq", "order", "op", "multi", "ack", "replies", "error",
                 "done", "stream", "sent_at", "weight", "waiter")

    def __init__(self, seq: int, order: int, op: _Op, multi: bool,
                 stream: Optional[_StreamT] = None) -> None:
        self.seq = seq
        self.order = order  # position in send order (seq wraps, this does not)
        self.op = op
        self.multi = multi  # a multipart (dump) request: ends with NLMSG_DONE
        self.ack = True  # asked for NLM_F_ACK: ends with the ACK, else with its one reply
        self.replies: list[nl.Message] = []
        self.error: Optional[errors.RtmgrError] = None
        self.done = False
        self.stream = stream
        self.sent_at: Optional[float] = None
        self.weight = 1  # answers it may bring (flow control); a run: its requests
        self.waiter: Optional[_Waiter] = None  # a future the I/O side awaits; resolved when the request is


class _Run(_Pending[_StreamT]):
    """Batch route requests packed into one buffer, only the last with NLM_F_ACK.

    The kernel answers the others only when they fail, and answers a
    buffer's messages in order: the last request's answer (ACK or error)
    ends the run, after every error of the run.  The run is registered
    under that last request's sequence number (``seq``).  Its requests are
    ``items[base:base + count]`` of the batch, ``(verb, route)``; request
    ``i`` has sequence number ``first + i`` (a run never wraps).
    ``errors[i]`` is request i's own error (refused by the kernel, or not
    even built); ``error`` is the run's (timeout, lost answers, closed
    client), which every request without its own then shares.
    """

    __slots__ = ("first", "items", "base", "count", "errors")

    def __init__(self, first: int, order: int, items: list[_Item], base: int) -> None:
        super().__init__(0, order, _Op("batch"), False)
        self.first = first
        self.items = items
        self.base = base
        self.count = 0
        self.errors: dict[int, errors.RtmgrError] = {}
        self.weight = 0  # requests sent

    def op_at(self, i: int) -> _Op:
        verb, obj = self.items[self.base + i]
        return _Op(verb, obj)

    def results(self) -> list[Optional[errors.RtmgrError]]:
        """One entry per request: None (applied) or its error."""
        errs, shared = self.errors, self.error
        if not errs and shared is None:
            return [None] * self.count
        out: list[Optional[errors.RtmgrError]] = []
        for i in range(self.count):
            e = errs.get(i)
            if e is None and shared is not None:
                kernel = getattr(shared, "ext_ack", None)
                e = errors.error_for(getattr(shared, "errno", None) or _errno.EIO, kernel,
                                     self.op_at(i).describe(), None,
                                     None if kernel else getattr(shared, "detail", None) or str(shared))
            out.append(e)
        return out


# a record of either client where its stream is not touched (plans, batches, errors)
_AnyPending = _Pending[Any]


class _Outgoing(Generic[_StreamT]):
    """A buffer for the sender thread and the requests packed in it."""

    __slots__ = ("data", "pendings")

    def __init__(self, data: bytes, pendings: list[_Pending[_StreamT]]) -> None:
        self.data = data
        self.pendings = pendings


def _coalesce(outq: Union[collections.deque[Optional[_Outgoing[_StreamT]]],
                          collections.deque[_Outgoing[_StreamT]]],
              per_send: int) -> list[_Outgoing[_StreamT]]:
    """Take the next buffers of ``outq`` that go in one sendmsg: the first, and
    those after it up to SEND_CHUNK bytes and ``per_send`` answers (a None,
    the threaded sender's stop mark, is left in place)."""
    first = outq.popleft()
    assert first is not None
    items = [first]
    size = len(first.data)
    n = sum(p.weight for p in first.pendings)
    while outq:
        nxt = outq[0]
        if nxt is None or size + len(nxt.data) > SEND_CHUNK \
                or n + sum(p.weight for p in nxt.pendings) > per_send:
            break
        outq.popleft()
        items.append(nxt)
        size += len(nxt.data)
        n += sum(p.weight for p in nxt.pendings)
    return items


# --------------------------------------------------------------------------
# The protocol core, shared with rtshell.aio: no thread, lock, clock or socket


class _Core(Generic[_StreamT]):
    """Sequence numbers, requests in flight and the matching of replies to them.

    Two groups of methods, each to be called by one caller at a time (the
    threaded client holds a lock for each; rtshell.aio runs them on its
    event loop):

    * numbering: :meth:`build` and :meth:`pack` number requests and build
      their buffers (a batch is packed into runs, see :class:`_Run`);
    * matching: :meth:`register` what was built, :meth:`sent` what went
      out (``now`` from the caller's clock), :meth:`receive` each receive
      buffer's messages, which resolves requests and cuts streaming answers
      into chunks; :meth:`expire`, :meth:`abandon`, :meth:`overran` and
      :meth:`fail_all` for requests given up on, and the one dump the kernel
      runs per socket (:meth:`acquire_dump` / :meth:`release_dump`).

    A request is resolved by :meth:`finish`: ``done`` set, ``error`` given,
    its ``waiter`` future (if the caller set one) resolved.
    """

    def __init__(self, per_send: int) -> None:
        self.per_send = per_send  # requests in one sendmsg
        self.seq = 0
        self.order = itertools.count(1)
        self.builder: Optional[nl.BatchBuilder] = None  # batch runs are packed here
        self.pending: dict[int, _Pending[_StreamT]] = {}
        self.abandoned: dict[int, _Pending[_StreamT]] = {}  # given up; late replies are dropped
        self.runs: dict[int, _Run[_StreamT]] = {}  # batch runs in flight, by their last seq
        self.inflight = 0  # replies sent requests may still bring (weights)
        self.overrun_order: Optional[int] = None  # replies up to here may be lost
        # the kernel runs one dump per socket: the seq of the dump in
        # progress, _RESERVED while one is being sent, None when free;
        # the stream reading it; a future resolved when it is freed
        self.dump_owner: Optional[int] = None
        self.dump_stream: Optional[_StreamT] = None
        self.dump_waiter: Optional[_Waiter] = None
        self.dropped = 0  # replies that matched no request (late or abandoned)

    @property
    def outstanding(self) -> int:
        """Requests registered whose answer has not arrived yet."""
        return sum(p.weight for p in self.pending.values())

    # ---- numbering

    def next_seq(self) -> int:
        self.seq = self.seq % (SEQ_MODULO - 1) + 1
        return self.seq

    def build(self, items: list[_Request], stream: Optional[_StreamT], capture: bool,
              outgoing: list[_Outgoing[_StreamT]]) -> list[_Pending[_StreamT]]:
        """Number and build requests ``(op, build, multi)``; their buffers go to ``outgoing``.

        ``build(seq) -> bytes`` makes a request.  One that cannot be built
        raises, or with ``capture`` becomes a record already failed with
        that error (nothing is sent for it).
        """
        pendings: list[_Pending[_StreamT]] = []
        for op, build, multi in items:
            seq = self.next_seq()
            p = _Pending(seq, next(self.order), op, multi, stream)
            try:
                data = build(seq)
                p.ack = bool(_FLAGS_AT.unpack_from(data, 6)[0] & P.NLM_F_ACK)
                outgoing.append(_Outgoing(data, [p]))
            except (errors.RtmgrError, ValueError, TypeError, KeyError) as exc:
                if not capture:
                    raise
                p.done = True
                p.error = exc if isinstance(exc, errors.RtmgrError) else \
                    errors.InvalidRequest(_errno.EINVAL, str(exc), op.describe())
            pendings.append(p)
        return pendings

    def pack(self, items: list[_Item],
             outgoing: list[_Outgoing[_StreamT]]) -> list[_Pending[_StreamT]]:
        """Number and pack batch requests ``(verb, obj)``, in order.

        ``verb`` is add, replace, change, append or delete (``obj`` a
        Route), or flush (``obj`` a Filter or None).  Returns records in
        request order: a :class:`_Run` per buffer of route changes, a
        :class:`_Pending` per flush; :func:`_batch_results` turns them into
        one result per request.  A request that cannot even be built fails
        on its own, the others go.

        A run is what one buffer holds (at most SEND_CHUNK bytes and the
        requests one sendmsg may carry): every request without NLM_F_ACK but
        the last, so the kernel sends one ACK per buffer plus an error per
        failed request (see :class:`_Run`).  This loop runs once per route
        of every batch: it is kept flat on purpose.
        """
        records: list[_Pending[_StreamT]] = []
        per_send = self.per_send
        flags_of = _RUN_FLAGS
        wrap = SEQ_MODULO - 1
        builder = self.builder
        if builder is None:
            builder = self.builder = nl.BatchBuilder(SEND_CHUNK)
        put = builder.put
        seq = self.seq
        run: Optional[_Run[_StreamT]] = None
        last = 0  # seq of the run's last packed request
        try:
            for idx, item in enumerate(items):
                if item[0] == "flush":
                    flt = item[1]
                    if run is not None:
                        self._seal(run, last, idx, outgoing)
                        run = None
                    self.seq = seq
                    records.extend(self.build(
                        [(_Op("flush", flt), functools.partial(nl.build_flush, filter=flt, ack=True),
                          False)],
                        None, True, outgoing))
                    seq = self.seq
                    continue
                seq = seq % wrap + 1
                if run is not None and (seq < run.first or idx - run.base >= per_send):
                    self._seal(run, last, idx, outgoing)
                    run = None
                if run is None:
                    run = _Run(seq, next(self.order), items, idx)
                    records.append(run)
                verb, route = item
                msg_type, flags = flags_of[verb]
                try:
                    if not put(msg_type, flags, seq, route):
                        # the buffer is full: it ends the run, this request starts the next
                        self._seal(run, last, idx, outgoing)
                        run = _Run(seq, next(self.order), items, idx)
                        records.append(run)
                        put(msg_type, flags, seq, route)  # an empty buffer takes it, or EMSGSIZE
                except (errors.RtmgrError, ValueError, TypeError, KeyError, AttributeError) as exc:
                    run.errors[idx - run.base] = exc if isinstance(exc, errors.RtmgrError) else \
                        errors.InvalidRequest(_errno.EINVAL, str(exc), _Op(verb, route).describe())
                    continue
                last = seq
            if run is not None:
                self._seal(run, last, len(items), outgoing)
        except BaseException:
            if len(builder):  # interrupted: nothing of this call goes out
                builder.take()
            raise
        finally:
            self.seq = seq
        return records

    def _seal(self, run: _Run[_StreamT], last: int, end: int,
              outgoing: list[_Outgoing[_StreamT]]) -> None:
        """End a run at item ``end``: its buffer, ACK asked of request ``last``."""
        builder = self.builder
        assert builder is not None
        run.count = end - run.base
        if len(builder):
            run.weight = len(builder)
            run.seq = last
            outgoing.append(_Outgoing(builder.take(ack_last=True), [run]))
        else:  # nothing of it could be built: answered already
            run.done = True

    # ---- matching

    def register(self, records: list[_Pending[_StreamT]]) -> None:
        """Expect answers for records (those not already answered)."""
        for p in records:
            if p.done:
                continue
            self.pending[p.seq] = p
            if type(p) is _Run:
                self.runs[p.seq] = p
            elif p.multi and self.dump_owner == _RESERVED:
                self.dump_owner = p.seq

    def sent(self, records: list[_Pending[_StreamT]], now: float) -> None:
        """Records went out at ``now``: what they may bring counts against the window."""
        for p in records:
            if not p.done:
                p.sent_at = now
                if not p.multi:
                    self.inflight += p.weight

    def send_failed(self, records: list[_Pending[_StreamT]],
                    exc: OSError) -> list[_Pending[_StreamT]]:
        """The sendmsg carrying records failed: fail them; those that were waiting."""
        err = getattr(exc, "errno", None) or _errno.EIO
        failed: list[_Pending[_StreamT]] = []
        for p in records:
            if self.pending.pop(p.seq, None) is not None:
                self.finish(p, _make_error(err, f"send failed: {exc}", p.op))
                if p.multi:
                    self.release_dump(p.seq)
                failed.append(p)
        return failed

    def finish(self, p: _Pending[_StreamT], error: Optional[errors.RtmgrError] = None) -> None:
        """Resolve a request."""
        if p.done:
            return
        p.done = True
        p.error = error
        if not p.multi and p.sent_at is not None:
            self.inflight -= p.weight
        if type(p) is _Run:
            self.runs.pop(p.seq, None)
        _resolve(p.waiter)

    def expire(self, p: _Pending[_StreamT], error: errors.RtmgrError) -> None:
        """Give up on a request with ``error``; its late replies will be dropped."""
        if p.done:
            return
        if self.pending.pop(p.seq, None) is not None:
            self.abandoned[p.seq] = p
        self.finish(p, error)
        if p.multi:  # the kernel produced nothing for long: do not block others
            self.release_dump(p.seq)

    def abandon(self, p: _Pending[_StreamT]) -> bool:
        """The consumer left a dump: the rest of its replies are dropped when they come."""
        if self.pending.pop(p.seq, None) is None:
            return False
        self.abandoned[p.seq] = p
        p.done = True
        _resolve(p.waiter)
        return True

    def stalled(self, p: _Pending[_StreamT], timeout: float) -> errors.RtmgrError:
        """The kernel sent nothing of a dump for ``timeout``: give it up, and its slot."""
        self.abandon(p)
        self.release_dump(p.seq)
        return _make_error(_errno.ETIMEDOUT, f"no dump data for {timeout:g} s", p.op)

    def fail_all(self, error_of: Callable[[_Pending[_StreamT]], errors.RtmgrError]
                 ) -> list[_Pending[_StreamT]]:
        """Fail every request in flight (the client closes); those records."""
        pendings = list(self.pending.values())
        self.pending.clear()
        for p in pendings:
            self.finish(p, error_of(p))
        _resolve(self.dump_waiter)
        return pendings

    def acquire_dump(self, stream: Optional[_StreamT]) -> None:
        """Take the socket's dump slot (the caller saw it free) for a request about to be sent."""
        self.dump_owner = _RESERVED
        self.dump_stream = stream

    def release_dump(self, seq: int) -> bool:
        """The dump ``seq`` is over on the socket: True if it held the slot."""
        if self.dump_owner != seq:
            return False
        self.dump_owner = None
        self.dump_stream = None
        _resolve(self.dump_waiter)
        return True

    def overran(self) -> None:
        """The request socket overran: replies were dropped by the kernel.

        Once a later reply arrives, every earlier single-reply request lost its own.
        """
        self.overrun_order = max(
            (p.order for p in self.pending.values() if p.sent_at is not None), default=None)

    def receive(self, msgs: list[nl.Message]
                ) -> tuple[bool, list[tuple[_Pending[_StreamT], _StreamT, _Chunk]]]:
        """Match a receive buffer's messages to their requests.

        Returns ``(wake, chunks)``: whether anything a caller may wait for
        was resolved (a request, the dump slot), and ``(record, stream, chunk)`` for
        each streaming request the buffer brought something.  An error
        inside a batch run, or a dropped reply, resolves nothing a caller
        waits for: no wake-up for them, which matters when every request of
        a batch fails, one datagram each.
        """
        chunks: dict[int, tuple[_Pending[_StreamT], _StreamT, _Chunk]] = {}
        wake = False
        for m in msgs:
            p = self.pending.get(m.seq)
            if p is None:
                run = self._run_of(m.seq) if self.runs else None
                if run is not None and m.kind == "error":
                    i = m.seq - run.first
                    run.errors[i] = m.exception(run.op_at(i).describe())
                elif self._drop(m):
                    wake = True
                continue
            wake = True
            if type(p) is _Run:
                self._end_run(p, m)
                continue
            final = _is_final(p, m)
            if self.overrun_order is not None and final and not p.multi:
                self._fail_lost(p.order)
            if p.stream is not None:
                entry = chunks.get(p.seq)
                if entry is None:
                    entry = chunks[p.seq] = (p, p.stream, _Chunk())
                self._stream_part(p, entry[2], m)
                continue
            if m.kind == "error" or (m.kind == "done" and m.error):
                del self.pending[p.seq]
                self.finish(p, m.exception(p.op.describe()))
            elif final:
                if m.kind in _ANSWERS:
                    p.replies.append(m)
                del self.pending[p.seq]
                self.finish(p)
            elif m.kind == "malformed":  # the rest of its answer is dropped
                del self.pending[p.seq]
                self.abandoned[p.seq] = p
                self.finish(p, _make_error(_errno.EBADMSG, _malformed_text(m), p.op))
                continue
            else:
                p.replies.append(m)
                continue
            if p.multi:
                self.release_dump(p.seq)
        return wake, list(chunks.values())

    def _stream_part(self, p: _Pending[_StreamT], chunk: _Chunk, m: nl.Message) -> None:
        """One message of a streaming request into the chunk of this buffer."""
        _chunk_part(chunk, m, p.op)
        if m.kind == "malformed":
            # the kernel goes on with the dump: drop the rest
            del self.pending[p.seq]
            self.abandoned[p.seq] = p
            self.finish(p)
            return
        if chunk.end is not None:
            del self.pending[p.seq]
            self.finish(p)
            self.release_dump(p.seq)

    def _run_of(self, seq: int) -> Optional[_Run[_StreamT]]:
        """The run in flight whose requests include ``seq``."""
        for run in self.runs.values():
            if run.first <= seq <= run.seq:
                return run
        return None

    def _end_run(self, run: _Run[_StreamT], m: nl.Message) -> None:
        """The answer of a run's last request: the run is over."""
        i = run.seq - run.first
        if m.kind == "error" or (m.kind == "done" and m.error):
            run.errors[i] = m.exception(run.op_at(i).describe())
        elif m.kind == "malformed":
            run.errors[i] = _make_error(_errno.EBADMSG, _malformed_text(m), run.op_at(i))
        lost = None
        if self.overrun_order is not None:
            if run.order <= self.overrun_order:
                # sent before the overrun: errors of its requests may be gone
                lost = _make_error(_errno.ENOBUFS, "the answer may have been lost (receive "
                                   "buffer overrun); the request may or may not have been applied",
                                   run.op)
        del self.pending[run.seq]
        self.finish(run, lost)
        if self.overrun_order is not None:
            self._fail_lost(run.order)

    def _drop(self, m: nl.Message) -> bool:
        """A reply to no current request: late, or of an abandoned dump.  True if
        it ended an abandoned dump that held the slot."""
        self.dropped += 1
        p = self.abandoned.get(m.seq)
        if p is not None and _is_final(p, m):
            del self.abandoned[m.seq]
            if p.multi:
                return self.release_dump(m.seq)
        return False

    def _fail_lost(self, order: int) -> None:
        """After an overrun: single-reply requests sent before ``order`` lost their reply."""
        floor = self.overrun_order
        if floor is None:
            return
        for q in list(self.pending.values()):
            if not q.multi and q.sent_at is not None and q.order < order and q.order <= floor:
                del self.pending[q.seq]
                self.abandoned[q.seq] = q
                self.finish(q, _make_error(
                    _errno.ENOBUFS, "the answer was lost (receive buffer overrun); "
                    "the request may or may not have been applied", q.op))
        if not any(q.order <= floor and not q.multi for q in self.pending.values()):
            self.overrun_order = None


def _chunk_part(chunk: _Chunk, m: nl.Message, op: _Op) -> None:
    """One message of a dump into the chunk of its receive buffer; ``chunk.end``
    is set by the message that ends the dump (done, an error, a malformed one)."""
    if m.dump_intr and chunk.intr_at is None:
        chunk.intr_at = len(chunk.routes)
    if m.kind == "route" and m.route is not None:
        chunk.routes.append(m.route)
    elif m.kind == "error" or (m.kind == "done" and m.error):
        chunk.end = m.exception(op.describe())
    elif m.kind == "done":
        chunk.end = True
    elif m.kind == "malformed":
        chunk.end = _make_error(_errno.EBADMSG, _malformed_text(m), op)


def _resolve(waiter: Optional[_Waiter]) -> None:
    """Resolve a waiter future, if there is one still waiting."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


# --------------------------------------------------------------------------
# Plans: what each call asks and how it reads the answers (shared, no I/O)
#
# A plan is a generator: it yields steps, gets each step's outcome back, and
# returns the call's result.  A step names the client method performing it;
# Client._drive runs plans on this client's threads, rtshell.aio.Client._drive
# on an event loop.  A step that fails ends the plan with its error.


def _ask(op: _Op, build: Callable[[int], bytes], multi: bool = False) -> _Step:
    """Step: one request, answered in full; the outcome is its _Pending (replies)."""
    return ("_call", op, build, multi)


def _ask_all(items: list[_Request]) -> _Step:
    """Step: requests ``(op, build, False)``; the outcome is their _Pendings,
    each answered or failed (not raised)."""
    return ("_call_all", items)


def _wait(records: list[_AnyPending]) -> _Step:
    """Step: wait until each record (already sent) is answered or failed."""
    return ("_wait_all", records)


def _collect(filter: Optional[Filter]) -> _Step:
    """Step: one uninterrupted dump; the outcome is its list of routes."""
    return ("_snapshot", filter)


def _change_plan(verb: str, route: Route, echo: bool) -> _Plan[Optional[Route]]:
    msg_type, flags = _REQUEST_FLAGS[verb]
    if echo:
        flags |= P.NLM_F_ECHO
    p: _AnyPending = yield _ask(_Op(verb, route),
                                lambda seq: nl.build_route(msg_type, flags, seq, route))
    if not echo:
        return None
    routes = [m.route for m in p.replies if m.route is not None]
    return routes[-1] if routes else None


def _delete_plan(target: Union[Route, Filter], echo: bool) -> _Plan[Union[Route, int, None]]:
    if isinstance(target, Filter):
        return (yield from _flush_plan(target))
    return (yield from _change_plan("delete", target, echo))


def _get_plan(dst: Union[Network, str], table: int, metric: Optional[int] = None) -> _Plan[Route]:
    prefix = _network(dst)
    op = _Op("get", prefix, table)
    p: _AnyPending = yield _ask(op, lambda seq: nl.build_get(seq, prefix, table, metric=metric))
    for m in p.replies:
        if m.route is not None:
            return m.route
    raise _make_error(_errno.EBADMSG, "no route in the answer", op)


def _lookup_plan(addr: Union[Address, str], table: int) -> _Plan[Route]:
    address = ip_address(addr)
    op = _Op("lookup", address, table)
    p: _AnyPending = yield _ask(op, lambda seq: nl.build_lookup(seq, address, table))
    for m in p.replies:
        res = _lookup_of(m)
        if res is not None:
            if res.route is None:
                raise _make_error(_errno.ENETUNREACH, None, op)
            return res.route
    raise _make_error(_errno.EBADMSG, "no lookup answer", op)


def _lookup_many_plan(addrs: Iterable[Union[Address, str]],
                      table: int) -> _Plan[list[LookupResult]]:
    wanted = [ip_address(a) for a in addrs]
    results: list[Optional[LookupResult]] = [None] * len(wanted)
    limit = P.RTMGR_MAX_LOOKUP_ADDRS
    for version in (4, 6):
        idx = [i for i, a in enumerate(wanted) if a.version == version]
        for start in range(0, len(idx), limit):
            part = idx[start:start + limit]
            chunk = [wanted[i] for i in part]
            op = _Op("lookup-many", chunk, table)
            p: _AnyPending = yield _ask(
                op, functools.partial(nl.build_lookup_many, addrs=chunk, table=table), multi=True)
            answers = [r for r in (_lookup_of(m) for m in p.replies) if r is not None]
            if len(answers) != len(chunk):
                raise _make_error(_errno.EBADMSG,
                                  f"{len(answers)} answers for {len(chunk)} addresses", op)
            for i, res in zip(part, answers):
                if res.addr != wanted[i]:
                    raise _make_error(_errno.EBADMSG,
                                      f"answer for {res.addr} where {wanted[i]} was asked", op)
                results[i] = res
    # every address has its answer by now (or an error was raised)
    return [res for res in results if res is not None]


def _flush_plan(filter: Optional[Filter]) -> _Plan[int]:
    op = _Op("flush", filter)
    p: _AnyPending = yield _ask(op, lambda seq: nl.build_flush(seq, filter, True))
    for m in p.replies:
        if m.kind == "flush" and m.count is not None:
            return m.count
    raise _make_error(_errno.EBADMSG, "no count in the answer", op)


def _stats_plan(tables: bool) -> _Plan[Stats]:
    op = _Op("stats")
    if not tables:
        p: _AnyPending = yield _ask(op, nl.build_stats)
        for m in p.replies:
            if m.stats is not None:
                return m.stats
        raise _make_error(_errno.EBADMSG, "no statistics in the answer", op)
    for _ in range(DUMP_ATTEMPTS):
        p = yield _ask(op, lambda seq: nl.build_stats(seq, tables=True), multi=True)
        parts = [m.stats for m in p.replies if m.stats is not None]
        if not parts:
            raise _make_error(_errno.EBADMSG, "no statistics in the answer", op)
        if not any(m.dump_intr for m in p.replies):
            break
    # the totals come first, then one (table, family) per message
    rows = tuple(t for s in parts[1:] for t in s.tables)
    return replace(parts[0], tables=rows)


def _batch_snapshot_plan(
        ops: list[_Item]) -> _Plan[tuple[dict[Key, Optional[Route]], dict[int, list[Key]]]]:
    """Plan: what each request of an atomic batch may overwrite.

    Returns (before, touched): ``before[key]`` is the route the key held
    (None: absent); ``touched[i]`` the keys request i may change.  The
    gets are pipelined like a batch.
    """
    before: dict[Key, Optional[Route]] = {}
    touched: dict[int, list[Key]] = {}
    unknown: list[Key] = []
    # A key that only one add touches needs no read: an add that succeeds
    # proves the key was absent, one that fails changed nothing (unless a
    # flush of the same batch may touch it).  A bulk load of new routes
    # reads nothing.
    uses = collections.Counter(item[1].key for item in ops if item[0] != "flush")
    flushes = any(verb == "flush" for verb, _obj in ops)
    for i, item in enumerate(ops):
        if item[0] == "delete" and item[1].metric == 0:
            # without a metric the kernel deletes the prefix's lowest: every
            # metric of the prefix may be the one
            route = item[1]
            found: list[Route] = yield _collect(Filter(prefix=route.dst, match=Match.EXACT, table=route.table))
            metrics = [r for r in found if r.dst == route.dst and r.table == route.table]
            touched[i] = [r.key for r in metrics] or [route.key]
            for r in metrics:
                before.setdefault(r.key, r)
            before.setdefault(route.key, None)
        elif item[0] != "flush":
            verb, route = item
            touched[i] = [route.key]
            if route.key not in before:
                before[route.key] = None
                if flushes or verb != "add" or uses[route.key] > 1:
                    unknown.append(route.key)
        else:
            routes: list[Route] = yield _collect(item[1])
            touched[i] = [r.key for r in routes]
            for r in routes:
                before.setdefault(r.key, r)
    unknown = [k for k in unknown if before[k] is None]
    if not unknown:
        return before, touched
    gets: list[_Request] = [
        (_Op("get", dst, table), functools.partial(nl.build_get, dst=dst, table=table, metric=metric), False)
        for (table, _family, dst, metric) in unknown]
    pendings: list[_AnyPending] = yield _ask_all(gets)
    for key, p in zip(unknown, pendings):
        if p.error is None:
            routes = [m.route for m in p.replies if m.route is not None]
            before[key] = routes[-1] if routes else None
        elif p.error.errno != _errno.ENOENT:
            raise p.error
    return before, touched


class _DumpReader:
    """What a dump hands its consumer, chunk by chunk, across restarts (no I/O).

    Streaming (``consistent=False``): the routes of each chunk as they come.
    After an interruption (``NLM_F_DUMP_INTR``, or a route out of the
    kernel's sort order) the caller closes the attempt, starts the dump again
    (:meth:`restart`), and the routes up to the last one handed over are
    skipped (the kernel sorts dumps): each route at most once, in order, and
    every route that existed for the whole dump.  Consistent: nothing until
    an attempt ends uninterrupted and in order, then all of it.  The
    caller's loop::

        while reader.attempt(client):
            (send the dump; for each chunk: hand over reader.take(chunk),
             and stop at reader.interrupted)
    """

    def __init__(self, op: _Op, consistent: bool) -> None:
        self.op = op
        self.consistent = consistent
        self.interrupted = False  # this attempt is over: stop reading it
        self._attempts = 0
        self._cursor: Optional[_SortKey] = None  # sort key of the last route handed over
        self._prev: Optional[_SortKey] = None  # sort key of the last route of this attempt
        self._collected: list[Route] = []  # consistent: the attempt so far

    def attempt(self, client: _HasRestarts) -> bool:
        """Whether to send the dump (again): at first, and after an interruption
        (counted in ``client.dump_restarts``).  DumpInterrupted when none is left."""
        if self._attempts and not self.interrupted:
            return False
        if self._attempts:
            client.dump_restarts += 1
            if self._attempts >= DUMP_ATTEMPTS:
                raise _dump_interrupted(self.op)
        self._attempts += 1
        self.interrupted = False
        self._prev = None
        self._collected = []
        return True

    def take(self, chunk: _Chunk) -> list[Route]:
        """The routes of ``chunk`` to hand over now."""
        if self.consistent:
            return self._take_whole(chunk)
        routes = chunk.routes
        cut = len(routes) if chunk.intr_at is None else chunk.intr_at
        out: list[Route] = []
        prev, cursor = self._prev, self._cursor
        for i, route in enumerate(routes):
            if i >= cut:
                self.interrupted = True
                break
            key = sort_key(route)
            if prev is not None and key <= prev:
                # the kernel promises sorted dumps; a repeat or a
                # step back means its cursor slipped: start over
                log.warning("dump out of order at %s: restarting", route.dst)
                self.interrupted = True
                break
            prev = key
            if cursor is not None and key <= cursor:
                continue  # handed over by an earlier attempt
            cursor = key
            out.append(route)
        self._prev, self._cursor = prev, cursor
        if chunk.end is not None and chunk.intr_at is not None:
            self.interrupted = True
        return out

    def _take_whole(self, chunk: _Chunk) -> list[Route]:
        if chunk.intr_at is not None:
            self.interrupted = True
            return []
        self._collected.extend(chunk.routes)
        if chunk.end is not True:
            return []
        keys = [sort_key(r) for r in self._collected]
        if all(a < b for a, b in zip(keys, keys[1:])):
            return self._collected
        log.warning("dump out of order: retrying")
        self.interrupted = True
        return []


class _Mirror:
    """The table as the notifications tell it, kept while a subscriber asked
    for ``resync=True`` (no I/O; the threaded client holds its _sub_lock).

    Built from a dump taken with the notification socket already joined:
    events that arrive meanwhile go to a backlog applied to the dump
    afterwards (applying an event the dump already reflects changes
    nothing); a notification overrun during the dump makes the backlog
    incomplete (``stale``): the dump is then taken again.
    """

    def __init__(self) -> None:
        self.model: Optional[dict[Key, Route]] = None
        self.backlog: Optional[list[Event]] = None  # events while the model is built
        self.stale = False  # the backlog missed events (overrun)
        self.resyncs = 0  # notification overruns repaired

    @property
    def building(self) -> bool:
        return self.model is None and self.backlog is not None

    def begin(self) -> None:
        """A dump for the model is about to be taken."""
        self.backlog = []
        self.stale = False

    def end(self, routes: Optional[list[Route]]) -> None:
        """That dump's routes (None: it failed): the model, unless events were lost meanwhile."""
        backlog, self.backlog = self.backlog, None
        if routes is not None and not self.stale:
            model = {r.key: r for r in routes}
            for event in backlog or ():
                event.apply_to(model)
            self.model = model

    def apply(self, events: list[Event]) -> None:
        if self.backlog is not None:
            self.backlog.extend(events)
        if self.model is not None:
            for event in events:
                event.apply_to(self.model)

    def first(self) -> ResyncEvent:
        """The first event of a new resync subscriber: every route."""
        model = self.model if self.model is not None else {}
        return ResyncEvent(kind="resync", added=tuple(model.values()), initial=True,
                           count=len(model))

    def release(self, subs: Iterable[Subscription]) -> None:
        """Subscribers changed: drop the model when none wants resync."""
        if not any(s.resync for s in subs) and self.backlog is None:
            self.model = None

    def lost(self) -> bool:
        """Notifications were lost.  True when a model is kept (then resync)."""
        if self.backlog is not None:
            self.stale = True  # a model being built missed events
        return self.model is not None

    def resync(self, routes: list[Route]) -> ResyncEvent:
        """A fresh dump after lost notifications: what changed, and the new model."""
        fresh = {r.key: r for r in routes}
        old = self.model if self.model is not None else {}
        added = tuple(r for k, r in fresh.items() if k not in old)
        removed = tuple(r for k, r in old.items() if k not in fresh)
        changed = tuple(r for k, r in fresh.items() if k in old and not _same_route(old[k], r))
        if self.model is not None:
            self.model = fresh
        self.resyncs += 1
        return ResyncEvent(kind="resync", added=added, removed=removed, changed=changed,
                           count=len(added) + len(removed) + len(changed))


# --------------------------------------------------------------------------
# Subscriptions


class Subscription:
    """A registered notification callback; ``close()`` (or ``with``) ends it."""

    def __init__(self, client: _Subscriber, callback: Callable[[Event], None],
                 filter: Optional[Filter], resync: bool) -> None:
        self._client = client
        self.callback = callback
        self.filter = filter
        self.resync = resync
        self.closed = False
        self.errors = 0  # exceptions raised by the callback (logged, not fatal)
        self._first: Optional[ResyncEvent] = None  # initial event, delivered by the notifier

    @overload
    def wants(self, event: ResyncEvent) -> ResyncEvent: ...
    @overload
    def wants(self, event: Event) -> Optional[Event]: ...

    def wants(self, event: Event) -> Optional[Event]:
        """The event as this subscriber should see it (filtered), or None."""
        flt = self.filter
        if flt is None:
            return event
        if isinstance(event, ResyncEvent):
            added = tuple(r for r in event.added if flt.matches(r))
            removed = tuple(r for r in event.removed if flt.matches(r))
            changed = tuple(r for r in event.changed if flt.matches(r))
            return ResyncEvent(kind=event.kind, added=added, removed=removed, changed=changed,
                               initial=event.initial,
                               count=len(added) + len(removed) + len(changed))
        if event.route is not None:
            return event if flt.matches(event.route) else None
        return event

    def deliver(self, event: Event, initial: bool = False) -> None:
        """Call the callback with ``event`` as this subscriber sees it (the
        initial event, if still due, first).  Its exceptions are logged and counted."""
        if self.closed:
            return
        if self._first is not None and not initial:
            self.deliver_first()
        shown = self.wants(event)
        if shown is None:
            return
        try:
            self.callback(shown)
        except Exception:
            self.errors += 1
            log.exception("notification callback %r failed", self.callback)

    def deliver_first(self) -> None:
        """Deliver the initial event of a ``resync=True`` subscriber, if still due."""
        first, self._first = self._first, None
        if first is not None:
            self.deliver(first, initial=True)

    def close(self) -> None:
        """Stop delivery.  Idempotent; callable from the callback itself."""
        if not self.closed:
            self.closed = True
            self._client._unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Monitor:
    """The iterator of :meth:`Client.monitor`: events through a bounded queue.

    The subscription holds the monitor only weakly: a monitor dropped
    without ``close()`` is collected and unsubscribes itself.
    """

    def __init__(self, client: Client, filter: Optional[Filter], resync: bool, depth: int) -> None:
        self._client = client
        self._cv = threading.Condition()
        self._events: collections.deque[Event] = collections.deque()
        self._depth = depth
        self._lost = 0
        ref = weakref.ref(self)

        def deliver(event: Event) -> None:
            monitor = ref()
            if monitor is not None:
                monitor._put(event)

        self._sub = client.subscribe(deliver, filter, resync=resync)

    def _put(self, event: Event) -> None:
        with self._cv:
            if len(self._events) >= self._depth:
                self._lost += 1
            else:
                self._events.append(event)
            self._cv.notify_all()

    def __iter__(self) -> "_Monitor":
        return self

    def __next__(self) -> Event:
        with self._cv:
            while not self._events:
                if self._lost:
                    lost, self._lost = self._lost, 0
                    raise _monitor_lost(lost)
                if self._sub.closed or self._client.closed:
                    raise StopIteration
                self._cv.wait(POLL_INTERVAL)
            return self._events.popleft()

    def close(self) -> None:
        self._sub.close()
        with self._cv:
            self._cv.notify_all()

    def __enter__(self) -> "_Monitor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._sub.close()
        except Exception:
            pass


# --------------------------------------------------------------------------
# The client


class _ClientBase(Generic[_StreamT]):
    """What the threaded client and rtshell.aio's show of their core, and closing their sockets."""

    _sock: Optional[nl.NetlinkSocket] = None
    _nsock: Optional[nl.NetlinkSocket] = None
    _closed = False
    _core: _Core[_StreamT]
    _mirror: _Mirror

    @property
    def portid(self) -> int:
        """The request socket's netlink port id (notifications carry it)."""
        assert self._sock is not None
        return self._sock.portid

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest request numbered (0 before the
        first); notifications of a change carry its number with ``portid``."""
        return self._core.seq

    @property
    def dropped(self) -> int:
        """Replies that matched no current request (late, or of abandoned dumps)."""
        return self._core.dropped

    @property
    def resyncs(self) -> int:
        """Notification overruns repaired by a resync."""
        return self._mirror.resyncs

    def _check_open(self) -> None:
        if self._closed:
            raise _closed_error(None)

    def _close_sockets(self) -> None:
        for sock in (self._sock, self._nsock):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass


class Client(_ClientBase[None]):
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
        self._window, self._per_send = _window_of(self._sock)

        # the protocol core: its numbering under _send_lock, its matching under _cv
        self._core = _Core(self._per_send)
        self._cv = threading.Condition()
        self._tx_progress = 0  # buffers sent
        self._rx_progress = 0  # buffers received
        self._closed = False
        self.dump_restarts = 0  # dumps started again after NLM_F_DUMP_INTR

        # the send queue, under _send_lock
        self._send_lock = threading.Lock()
        self._outq: collections.deque[Optional[_Outgoing[None]]] = collections.deque()
        self._outq_cv = threading.Condition(self._send_lock)

        # notifications, under _sub_lock
        self._sub_lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._nsock: Optional[nl.NetlinkSocket] = None
        self._notifier: Optional[threading.Thread] = None
        self._mirror = _Mirror()  # the table, while resync is wanted
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
            self._core.fail_all(_closed_error)
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
        return self._drive(_change_plan("add", route, echo))

    def replace(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Create the route or overwrite the value of the one with its key."""
        return self._drive(_change_plan("replace", route, echo))

    def change(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Overwrite an existing route; RouteNotFound if there is none."""
        return self._drive(_change_plan("change", route, echo))

    def append(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Add next hops to a unicast route (which becomes multipath), or create it."""
        return self._drive(_change_plan("append", route, echo))

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
        return self._drive(_delete_plan(target, echo))

    def get(self, dst: Union[Network, str], table: int = TABLE_MAIN, metric: Optional[int] = None) -> Route:
        """The route with exactly this key (metric None: the prefix's
        lowest-metric route); RouteNotFound if there is none."""
        return self._drive(_get_plan(dst, table, metric))

    def lookup(self, addr: Union[Address, str], table: int = TABLE_MAIN) -> Route:
        """The longest-prefix match of ``addr``; NoRoute if nothing matches."""
        return self._drive(_lookup_plan(addr, table))

    def lookup_many(self, addrs: Iterable[Union[Address, str]],
                    table: int = TABLE_MAIN) -> list[LookupResult]:
        """Longest-prefix matches of many addresses, in their order.

        One bulk (``NLM_F_DUMP``) request per family and per
        ``RTMGR_MAX_LOOKUP_ADDRS`` addresses.  Each answer is an exact
        longest-prefix match at the moment it was computed.
        """
        return self._drive(_lookup_many_plan(addrs, table))

    def flush(self, filter: Optional[Filter] = None) -> int:
        """Delete every route passing ``filter`` (None: every route); the count."""
        return self._drive(_flush_plan(filter))

    def stats(self, *, tables: bool = True) -> Stats:
        """The module's counters for this network namespace.

        ``tables=True`` also lists the routes of every (table, family): a
        multipart answer of one message per pair, retried if the tables
        changed under it.  ``tables=False`` asks for the totals alone (one
        small message whatever the number of tables), for pollers.
        """
        return self._drive(_stats_plan(tables))

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
        op = _Op("show", filter)
        reader = _DumpReader(op, consistent)
        while reader.attempt(self):
            chunks = self._own_dump(op, lambda seq: nl.build_dump(seq, filter))
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

    # ---- running plans (see _ask) ------------------------------------------

    def _drive(self, plan: _Plan[_T]) -> _T:
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

    def _call_all(self, items: list[_Request]) -> list[_Pending[None]]:
        """Requests ``(op, build, False)`` pipelined, each answered or failed (not raised)."""
        pendings: list[_Pending[None]] = []
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
        raise _dump_interrupted(_Op("show", None))

    def monitor(self, filter: Optional[Filter] = None, *, resync: bool = False) -> _Monitor:
        """An iterator of events (subscribed at once), until closed or the client closes.

        Buffers up to ``MONITOR_DEPTH`` events; a consumer that falls further
        behind gets ``Overrun`` from ``next()`` (and may go on iterating).
        """
        self._check_open()
        return _Monitor(self, filter, resync, MONITOR_DEPTH)

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
        """Make sure the mirror of the table exists (see :class:`_Mirror`).

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
        raise _dump_interrupted(_Op("show", None))

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
        _trace(self.trace, _RECV, buf)
        events = _events_in(buf)
        if events:
            with self._sub_lock:
                self._mirror.apply(events)
                subs = list(self._subs)
            _deliver_all(subs, events)

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
            _deliver_all(subs, [_OVERRUN])
            return
        try:
            fresh = self._snapshot(None)
        except (errors.RtmgrError, OSError) as exc:
            if not self._stopping.is_set():
                log.error("resync after notification overrun failed: %s", exc)
                _deliver_all(subs, [_OVERRUN])
            return
        with self._sub_lock:
            event = self._mirror.resync(fresh)
            subs = list(self._subs)
        _deliver_all(subs, [event])

    # ---- sending and receiving ------------------------------------------

    def _submit(self, items: list[_Request], capture: bool = False) -> list[_Pending[None]]:
        """Number, build, register and queue requests; their records, in order.

        ``items``: ``(op, build, multi)``, see :meth:`_Core.build` (the
        sender joins small neighbouring buffers into one sendmsg).  Batches
        of route changes go through :meth:`_send_batch_items` instead.
        """
        self._check_open()
        outgoing: list[_Outgoing[None]] = []
        with self._send_lock:
            pendings = self._core.build(items, None, capture, outgoing)
            self._queue_out(pendings, outgoing)
        return pendings

    def _queue_out(self, records: list[_Pending[None]],
                   outgoing: list[_Outgoing[None]]) -> None:
        """Register records (those not already answered) and hand their buffers
        to the sender (under _send_lock)."""
        with self._cv:
            if self._closed:
                raise _closed_error(None)
            self._core.register(records)
        self._outq.extend(outgoing)
        self._outq_cv.notify_all()

    def _call(self, op: _Op, build: Callable[[int], bytes],
              multi: bool = False) -> _Pending[None]:
        """One request, answered in full (multipart collected); raises its error."""
        if multi:
            self._acquire_dump_slot(op)
        try:
            (p,) = self._submit([(op, build, multi)])
        except BaseException:
            if multi:
                self._release_dump_slot(_RESERVED)
            raise
        self._wait_one(p)
        if p.error is not None:
            raise p.error
        return p

    def _own_dump(self, op: _Op, build: Callable[[int], bytes]) -> Generator[_Chunk, None, None]:
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
            _trace(self.trace, _SEND, data)
            sock.send(data)
            while True:
                chunk = _Chunk()
                for m in self._dump_buffer(sock, op):
                    if m.seq == seq and chunk.end is None:
                        _chunk_part(chunk, m, op)
                if isinstance(chunk.end, BaseException):
                    raise chunk.end
                yield chunk
                if chunk.end is True:
                    return
        finally:
            sock.close()

    def _dump_buffer(self, sock: nl.NetlinkSocket, op: _Op) -> list[nl.Message]:
        """The next receive buffer of a dump's own socket; Timeout if the kernel
        sends nothing for ``timeout`` seconds after it was asked."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self._closed:
                raise _closed_error(op)
            left = deadline - time.monotonic()
            if left <= 0:
                raise _make_error(_errno.ETIMEDOUT, f"no dump data for {self.timeout:g} s", op)
            try:
                buf = sock.recv(min(left, POLL_INTERVAL), queued=True)
            except errors.Overrun:
                # a dump is made only into free room: this should not happen
                raise _make_error(_errno.ENOBUFS, "the dump socket overran: routes were lost",
                                  op) from None
            if buf is None:
                continue
            msgs = _parsed(self.trace, buf)
            if msgs is None:
                raise _make_error(_errno.EBADMSG, "cannot parse the kernel's answer", op)
            return msgs

    def _acquire_dump_slot(self, op: _Op) -> None:
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
                    raise _closed_error(op)
                now = time.monotonic()
                if self._rx_progress != progress:  # an abandoned dump is draining
                    progress, deadline = self._rx_progress, now + self.timeout
                if now >= deadline:
                    if _dump_lost(core):
                        break
                    raise _slot_timeout(op, self.timeout)
                self._cv.wait(min(deadline - now, POLL_INTERVAL))
            core.acquire_dump(None)

    def _release_dump_slot(self, seq: int) -> None:
        """The dump ``seq`` is over on the socket (under _cv or not)."""
        with self._cv:
            if self._core.release_dump(seq):
                self._cv.notify_all()

    def _wait_one(self, p: _Pending[None]) -> None:
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

    def _wait_all(self, pendings: list[_Pending[None]]) -> None:
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

    def _expire(self, p: _Pending[None]) -> None:
        """Give up on a request (under _cv): Timeout; its late replies will be dropped."""
        if not p.done:
            self._core.expire(p, _timeout_error(p, self.timeout))
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
                items = _coalesce(self._outq, self._per_send)
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
            _trace(self.trace, _SEND, data)
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
                msgs = _parsed(self.trace, buf)
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

    def _send_batch_items(self, items: list[_Item]) -> list[_Pending[None]]:
        """Number, pack and queue batch requests ``(verb, obj)``; see :meth:`_Core.pack`."""
        self._check_open()
        outgoing: list[_Outgoing[None]] = []
        with self._send_lock:
            records = self._core.pack(items, outgoing)
            self._queue_out(records, outgoing)
        return records


# --------------------------------------------------------------------------
# Batches


class _BatchClient(Protocol):
    """A client, as a batch sees it (either client): what packs and sends its requests."""

    def _send_batch_items(self, items: list[_Item]) -> list[_AnyPending]: ...


_ClientT = TypeVar("_ClientT", bound=_BatchClient)


class _BatchBase(Generic[_ClientT]):
    """What the batches of both clients share (see :class:`Batch`): the requests
    queued and sent, and the plans of a commit and of a block that failed.
    :class:`Batch` and ``rtshell.aio.Batch`` add ``commit`` and the context
    manager, each running the plans with its client's ``_drive``."""

    #: Requests collected before a non-atomic batch hands a run to the sender.
    SEND_RUN = 1024

    def __init__(self, client: _ClientT, atomic: bool = False, raise_on_error: bool = True) -> None:
        self.client = client
        self.atomic = atomic
        self.raise_on_error = raise_on_error
        self._items: list[_Item] = []  # (verb, obj) not yet sent (atomic: all of them)
        self._sent = 0  # requests handed to the client so far
        self._records: list[_AnyPending] = []  # runs and flushes sent, in order
        self.results: list[Optional[errors.RtmgrError]] = []
        self.undone: list[str] = []
        self.undo_failures: list[tuple[str, errors.RtmgrError]] = []
        self._done = False

    # requests
    def add(self, route: Route) -> None:
        # _queue(("add", route)), inline: this runs once per route
        if self._done:
            raise RuntimeError("batch already committed")
        items = self._items
        items.append(("add", route))
        if len(items) >= self.SEND_RUN and not self.atomic:
            self._send_items()

    def replace(self, route: Route) -> None:
        self._queue(("replace", route))

    def change(self, route: Route) -> None:
        self._queue(("change", route))

    def append(self, route: Route) -> None:
        self._queue(("append", route))

    def delete(self, target: Union[Route, Filter]) -> None:
        """Delete a route (match fields as :meth:`Client.delete`), or flush a Filter."""
        if isinstance(target, Filter):
            self.flush(target)
        else:
            self._queue(("delete", target))

    def flush(self, filter: Optional[Filter] = None) -> None:
        self._queue(("flush", filter))

    def __len__(self) -> int:
        """Requests queued so far."""
        return self._sent + len(self._items)

    def _queue(self, item: _Item) -> None:
        if self._done:
            raise RuntimeError("batch already committed")
        items = self._items
        items.append(item)
        if len(items) >= self.SEND_RUN and not self.atomic:
            self._send_items()

    def _send_items(self) -> None:
        items, self._items = self._items, []
        self._sent += len(items)
        self._records.extend(self.client._send_batch_items(items))

    @property
    def failures(self) -> list[tuple[int, errors.RtmgrError]]:
        return [(i, e) for i, e in enumerate(self.results) if e is not None]

    # plans
    def _commit(self) -> _Plan[list[Optional[errors.RtmgrError]]]:
        """The plan of :meth:`commit` (see _ask)."""
        if self._done:
            return self.results
        self._done = True
        before: dict[Key, Optional[Route]] = {}
        touched: dict[int, list[Key]] = {}
        if self.atomic:
            before, touched = yield from _batch_snapshot_plan(self._items)
        self._send_items()
        yield _wait(self._records)
        self.results = _batch_results(self._records)
        if self.atomic and any(e is not None for e in self.results):
            yield from self._undo(before, touched)
        failures = self.failures
        if failures and self.raise_on_error:
            raise BatchError(self.results, failures, self.undone, self.undo_failures, self.atomic)
        return self.results

    def _undo(self, before: dict[Key, Optional[Route]],
              touched: dict[int, list[Key]]) -> _Plan[None]:
        """Plan: bring every key a successful request touched back to its state before."""
        keys: dict[Key, list[int]] = {}
        for i, err in enumerate(self.results):
            if err is None:
                for key in touched.get(i, ()):
                    keys.setdefault(key, []).append(i)
        items: list[tuple[Literal["delete", "replace"], Route, str]] = []
        for key, idx in keys.items():
            old = before.get(key)
            table, _family, dst, metric = key
            why = "undoes " + ", ".join(f"#{i}" for i in idx)
            if old is None:
                items.append(("delete", Route(dst=dst, table=table, metric=metric, type=RouteType.UNSPEC), why))
            else:
                items.append(("replace", old, why))
        if not items:
            return
        records = self.client._send_batch_items([(verb, route) for verb, route, _why in items])
        yield _wait(records)
        for (verb, obj, why), error in zip(items, _batch_results(records)):
            text = f"{_Op(verb, obj).describe()} ({why})"
            if error is None:
                self.undone.append(text)
            elif verb == "delete" and error.errno == _errno.ESRCH:
                continue  # already gone: nothing to undo
            else:
                self.undo_failures.append((text, error))

    def _left(self) -> _Plan[None]:
        """Plan: the block failed.  An atomic batch sent nothing; a plain one
        waits for what it sent."""
        self._done = True
        if not self.atomic and self._records:
            try:
                yield _wait(self._records)
            finally:
                self.results = _batch_results(self._records)


class Batch(_BatchBase[Client]):
    """Many changes, pipelined.  Use as a context manager::

        with client.batch() as b:
            for r in routes:
                b.add(r)
        # b.results[i] is None (applied) or the RtmgrError of request i

    Requests are packed into as few ``sendmsg`` buffers as fit; only the
    last request of a buffer asks for an ACK, so the kernel answers a
    buffer with one ACK plus an error per failed request (each matched to
    its request by sequence number).  Without ``atomic`` they are sent while the block
    runs (a full buffer goes at once).  Leaving the block waits for every
    answer and raises :class:`BatchError` when any failed, unless
    ``raise_on_error=False``.  When the block itself raises, the requests
    already sent are still waited for, and its exception propagates.

    ``atomic=True`` sends nothing until the block ends.  It then reads what
    each request would overwrite (``get`` per key, a dump for a flush),
    applies the batch, and when anything failed, restores every key a
    successful request touched to its state before the batch (delete what
    was created, replace back what was replaced, changed, appended or
    deleted); :attr:`BatchError.undone` says what was undone.  This is an
    undo, not isolation: another writer changing the same routes meanwhile
    may have its change undone too.
    """

    # running
    def commit(self) -> list[Optional[errors.RtmgrError]]:
        """Send what is left, wait for every answer (undo if atomic); the results."""
        return self.client._drive(self._commit())

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if exc_type is None:
            self.commit()
            return None
        try:
            self.client._drive(self._left())
        except Exception:
            pass  # the block's own exception is the one that propagates
        return None


# --------------------------------------------------------------------------
# Helpers


#: (message type, flags) of each change verb, as a single request (all
#: carry NLM_F_REQUEST|NLM_F_ACK)
_REQUEST_FLAGS = {
    "add": (P.RTMGR_MSG_NEWROUTE, nl.ADD_FLAGS),
    "replace": (P.RTMGR_MSG_NEWROUTE, nl.REPLACE_FLAGS),
    "change": (P.RTMGR_MSG_NEWROUTE, nl.CHANGE_FLAGS),
    "append": (P.RTMGR_MSG_NEWROUTE, nl.APPEND_FLAGS),
    "delete": (P.RTMGR_MSG_DELROUTE, nl.DELETE_FLAGS),
}

#: (message type, flags) of a batch run's requests: no NLM_F_ACK but on the
#: last of each buffer (rtm_batch_ack_last), see _Run
_RUN_FLAGS = {verb: (msg_type, flags & ~P.NLM_F_ACK)
              for verb, (msg_type, flags) in _REQUEST_FLAGS.items()}

_OVERRUN = Event(kind="overrun", count=0)  # notifications were lost, nothing more is known


def _rcvbuf_of(sock: nl.NetlinkSocket) -> int:
    """The receive buffer the kernel actually granted a socket."""
    try:
        with socket.socket(fileno=os.dup(sock.fileno())) as s:
            return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    except (OSError, AttributeError, ValueError):
        return 212992


def _window_of(sock: nl.NetlinkSocket) -> tuple[int, int]:
    """Flow control: (replies that may be outstanding, requests per sendmsg).

    The kernel answers a whole sendmsg before anything is read, so what is
    outstanding must fit the receive buffer.
    """
    window = max(16, _rcvbuf_of(sock) // REPLY_COST)
    return window, max(8, window // 2)


def _trace(trace: Optional[Callable[[str, bytes], None]], direction: str, data: bytes) -> None:
    """Hand a buffer to the client's trace callback, if any; its errors are logged."""
    if trace is not None:
        try:
            trace(direction, data)
        except Exception:
            log.exception("trace callback failed")


def _parsed(trace: Optional[Callable[[str, bytes], None]],
            buf: bytes) -> Optional[list[nl.Message]]:
    """A request socket's receive buffer: traced, then parsed (None if it cannot be)."""
    _trace(trace, _RECV, buf)
    try:
        return nl.parse(buf)
    except Exception:
        log.exception("cannot parse a receive buffer")
        return None


def _events_in(buf: bytes) -> list[Event]:
    """The events of a notification buffer (none if it cannot be parsed)."""
    try:
        return [e for e in map(_event_of, nl.parse(buf)) if e is not None]
    except Exception:
        log.exception("cannot parse a notification buffer")
        return []


def _deliver_all(subs: Iterable[Subscription], events: list[Event]) -> None:
    for event in events:
        for sub in subs:
            sub.deliver(event)


def _closed_error(p: Optional[Union[_AnyPending, _Op]]) -> errors.RtmgrError:
    op = p.op if isinstance(p, _Pending) else p
    return _make_error(_errno.ESHUTDOWN, "client closed", op)


def _timeout_error(p: _AnyPending, timeout: float) -> errors.RtmgrError:
    return _make_error(_errno.ETIMEDOUT, f"no answer within {timeout:g} s", p.op)


def _idle_error(p: _AnyPending, timeout: float) -> errors.RtmgrError:
    return _make_error(_errno.ETIMEDOUT, f"dump consumer idle for {timeout:g} s: dump abandoned",
                       p.op)


def _busy_error(op: _Op, reader: str = "thread") -> errors.RtmgrError:
    return _make_error(_errno.EBUSY, f"a dump is still being read in this {reader}: "
                       "finish or close it first", op)


def _monitor_lost(lost: int) -> errors.RtmgrError:
    return errors.error_for(_errno.ENOBUFS, None, "monitor", None,
                            f"monitor consumer fell behind: {lost} events dropped")


def _slot_timeout(op: _Op, timeout: float) -> errors.RtmgrError:
    return _make_error(_errno.ETIMEDOUT, f"another dump held the socket for {timeout:g} s", op)


def _dump_lost(core: _Core[Any]) -> bool:
    """After ``timeout`` without a byte: is the dump holding the slot one that
    was abandoned and never ended?  Then the slot is taken over."""
    if core.dump_owner != _RESERVED and core.dump_owner not in core.pending:
        log.warning("dump %s never ended; reusing the socket", core.dump_owner)
        return True
    return False


def _batch_results(records: list[_AnyPending]) -> list[Optional[errors.RtmgrError]]:
    """One entry per request of the records _send_batch_items returned."""
    out: list[Optional[errors.RtmgrError]] = []
    for p in records:
        if type(p) is _Run:
            out.extend(p.results())
        else:
            out.append(p.error)
    return out


def _network(dst: Union[Network, str]) -> Network:
    """A prefix given as text or as an ipaddress network."""
    return ip_network(dst) if isinstance(dst, str) else dst


def _is_final(p: _AnyPending, m: nl.Message) -> bool:
    """Is ``m`` the last message the kernel sends for request ``p``?"""
    if m.kind in ("error", "done"):
        return True
    if p.multi:
        return False
    return m.kind == "ack" or (not p.ack and m.kind in _ANSWERS)


def _lookup_of(m: nl.Message) -> Optional[LookupResult]:
    """The LookupResult a LOOKUP reply carries, or None for other messages."""
    if m.kind != "lookup":
        return None
    res = m.lookup
    if isinstance(res, LookupResult):
        return res
    return None


def _malformed_text(m: nl.Message) -> str:
    return f"malformed reply: {getattr(m, 'reason', None) or 'unparseable message'}"


def _event_of(m: nl.Message) -> Optional[Event]:
    """A notification message as an Event (None for anything else)."""
    if m.kind == "route" and m.route is not None:
        kind = "new" if m.type == P.RTMGR_MSG_NEWROUTE else "del"
        return Event(kind=kind, route=m.route, pid=m.pid, seq=m.seq, time=time.time())
    if m.kind == "flush":
        return Event(kind="flush", filter=m.filter, count=int(m.count or 0), pid=m.pid, seq=m.seq,
                     time=time.time())
    return None


def _same_route(a: Route, b: Route) -> bool:
    """Equal value and not rewritten since (a replace with the same value counts)."""
    return a == b and a.changed == b.changed
