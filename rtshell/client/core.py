"""The protocol core both clients drive: no thread, lock, clock or socket.

:class:`Core` is the request table.  It numbers requests and builds their
bytes (:meth:`Core.build`; batch route changes packed into runs by
:meth:`Core.pack`), registers them, and matches every parsed reply to its
request by sequence number (:meth:`Core.receive`), telling the caller which
requests are done.  It is told of overruns (:meth:`Core.overran`) and of
requests that expired; it never waits.  The threaded client
(:mod:`rtshell.client.threaded`) drives it from its sender and receiver
threads, :mod:`rtshell.aio` from an event loop.

Here too: :class:`Op` (what a request asked, described only when it
fails), the records of requests in flight (:class:`Pending`, :class:`Run`
for a buffer of batch changes), what a reply means (:func:`is_final`,
:func:`lookup_of`), and the errors the client makes
itself (closed, timed out, busy).
"""

from __future__ import annotations

import collections
import errno as _errno
import functools
import itertools
import logging
import struct
from ipaddress import IPv4Address, IPv6Address
from typing import (Any, Callable, Generator, Generic, Literal, Optional, Protocol,
                    TypeVar, Union)

from rtshell import errors, names, words
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, LookupResult, Network, Route

log = logging.getLogger(__name__)

Address = Union[IPv4Address, IPv6Address]
Key = tuple[int, int, Network, int]  # Route.key: (table, family, dst, metric)
# a request to number and send: (what it asks, build(seq) -> its bytes, multipart?)
Request = tuple["Op", Callable[[int], bytes], bool]
# a batch request: (verb, Route), or ("flush", Filter or None)
RouteVerb = Literal["add", "replace", "change", "append", "delete"]
# a route of a batch: a Route, or a batch file's line already read in C
AnyRoute = Union[Route, nl.PackedRoute]
Item = Union[tuple[RouteVerb, AnyRoute], tuple[Literal["flush"], Optional[Filter]]]
RouteItem = Union[tuple[RouteVerb, Route], tuple[Literal["flush"], Optional[Filter]]]


def unpacked(item: Item) -> RouteItem:
    """The item with a Route where a batch file's line gave a PackedRoute."""
    if item[0] != "flush" and isinstance(item[1], nl.PackedRoute):
        return (item[0], item[1].route)
    return item  # type: ignore[return-value]  # a Route already, or a flush
# a plan's step: (the client method performing it, its arguments...)
Step = tuple[Any, ...]
_T = TypeVar("_T")
# what a streaming request's chunks go to: DumpStream in rtshell.aio (None in the
# threaded client, whose dumps each read a socket of their own: Client._own_dump)
# (the core only holds it; each client reads the chunks the core cuts into it)
StreamT = TypeVar("StreamT")
# a plan: yields steps, is sent each step's outcome, returns the call's result
Plan = Generator[Step, Any, _T]


class Waiter(Protocol):
    """What the core resolves: an asyncio future, as rtshell.aio sets one (and awaits)."""

    def done(self) -> bool: ...

    def set_result(self, result: None, /) -> None: ...

    def __await__(self) -> Generator[Any, None, None]: ...


SortKey = tuple[int, int, int, int, int]  # model.sort_key

#: Receive buffers of parsed routes an rtshell.aio dump may hold before backpressure.
STREAM_DEPTH = 8
#: Attempts of an interrupted dump before DumpInterrupted is raised.
DUMP_ATTEMPTS = 5
#: Receive-buffer bytes one outstanding reply may cost the kernel (skb
#: truesize of a small ACK, rounded up generously).  Sets the in-flight window.
REPLY_COST = 2048
#: Bytes per sendmsg: requests queued together are sent in one call up to
#: this (well below the default socket send limit of ~208 KiB).
SEND_CHUNK = 64 << 10
#: Sequence numbers are 32-bit and never 0 (0 is what the kernel uses).
SEQ_MODULO = 1 << 32

SEND, RECV = "send", "recv"
RESERVED = 0  # dump slot taken, request not numbered yet (seq 0 is never used)
ANSWERS = frozenset({"route", "lookup", "flush", "stats"})  # reply records
FLAGS_AT = struct.Struct("=H")  # nlmsg_flags, at offset 6 of a request


#: (message type, flags) of a batch run's requests (nl.VERB_FLAGS): no
#: NLM_F_ACK but on the last of each buffer (rtm_batch_ack_last), see Run
RUN_FLAGS = {verb: (msg_type, flags & ~P.NLM_F_ACK)
             for verb, (msg_type, flags) in nl.VERB_FLAGS.items()}

# --------------------------------------------------------------------------
# Describing requests (only when one fails)


class Op:
    """What a request asked for; turned into text only when it fails."""

    __slots__ = ("verb", "obj", "table")

    def __init__(self, verb: str, obj: object = None, table: Optional[int] = None) -> None:
        self.verb = verb
        self.obj = obj
        self.table = table

    def describe(self) -> str:
        verb, obj = self.verb, self.obj
        if isinstance(obj, nl.PackedRoute):
            obj = obj.route
        if isinstance(obj, Route) or (verb in ("show", "flush") and (obj is None or isinstance(obj, Filter))):
            return words.request_text(verb, obj, names.REQUEST_NAMES)
        if verb == "lookup-many" and isinstance(obj, list):
            return f"route lookup {len(obj)} addresses table {names.table_name(self.table)}"
        if verb in ("stats", "batch"):
            return verb
        if self.table is not None:
            return f"route {verb} {obj} table {names.table_name(self.table)}"
        return f"route {verb} {obj}"

    __str__ = describe


def dump_interrupted(op: Op) -> errors.DumpInterrupted:
    return errors.DumpInterrupted(_errno.EINTR,
                           f"dump interrupted {DUMP_ATTEMPTS} times by concurrent changes",
                           op.describe())


def make_error(err: int, detail: Optional[str], op: Optional[Op],
                offset: Optional[int] = None) -> errors.RtmgrError:
    """An error the client found itself (``detail`` says what), not a kernel answer."""
    return errors.error_for(err, None, op.describe() if op is not None else None, offset, detail)



# --------------------------------------------------------------------------
# Request bookkeeping


class Chunk:
    """What one receive buffer brought a streaming request."""

    __slots__ = ("routes", "intr_at", "end")

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.intr_at: Optional[int] = None  # first route of a flagged message
        # None: more to come; True: NLMSG_DONE; or the error that ended it
        self.end: Union[None, bool, errors.RtmgrError] = None


class Pending(Generic[StreamT]):
    """One request in flight: what the receiver fills in and the caller waits for."""

    __slots__ = ("seq", "order", "op", "multi", "ack", "replies", "error",
                 "done", "stream", "sent_at", "weight", "waiter")

    def __init__(self, seq: int, order: int, op: Op, multi: bool,
                 stream: Optional[StreamT] = None) -> None:
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
        self.waiter: Optional[Waiter] = None  # a future the I/O side awaits; resolved when the request is


class Run(Pending[StreamT]):
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

    def __init__(self, first: int, order: int, items: list[Item], base: int) -> None:
        super().__init__(0, order, Op("batch"), False)
        self.first = first
        self.items = items
        self.base = base
        self.count = 0
        self.errors: dict[int, errors.RtmgrError] = {}
        self.weight = 0  # requests sent

    def op_at(self, i: int) -> Op:
        verb, obj = self.items[self.base + i]
        return Op(verb, obj)

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
AnyPending = Pending[Any]


class Outgoing(Generic[StreamT]):
    """A buffer for the sender thread and the requests packed in it."""

    __slots__ = ("data", "pendings")

    def __init__(self, data: bytes, pendings: list[Pending[StreamT]]) -> None:
        self.data = data
        self.pendings = pendings


def coalesce(outq: Union[collections.deque[Optional[Outgoing[StreamT]]],
                          collections.deque[Outgoing[StreamT]]],
              per_send: int) -> list[Outgoing[StreamT]]:
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


class Core(Generic[StreamT]):
    """Sequence numbers, requests in flight and the matching of replies to them.

    Two groups of methods, each to be called by one caller at a time (the
    threaded client holds a lock for each; rtshell.aio runs them on its
    event loop):

    * numbering: :meth:`build` and :meth:`pack` number requests and build
      their buffers (a batch is packed into runs, see :class:`Run`);
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
        self.pending: dict[int, Pending[StreamT]] = {}
        self.abandoned: dict[int, Pending[StreamT]] = {}  # given up; late replies are dropped
        self.runs: dict[int, Run[StreamT]] = {}  # batch runs in flight, by their last seq
        self.inflight = 0  # replies sent requests may still bring (weights)
        self.overrun_order: Optional[int] = None  # replies up to here may be lost
        # the kernel runs one dump per socket: the seq of the dump in
        # progress, RESERVED while one is being sent, None when free;
        # the stream reading it; a future resolved when it is freed
        self.dump_owner: Optional[int] = None
        self.dump_stream: Optional[StreamT] = None
        self.dump_waiter: Optional[Waiter] = None
        self.dropped = 0  # replies that matched no request (late or abandoned)

    @property
    def outstanding(self) -> int:
        """Requests registered whose answer has not arrived yet."""
        return sum(p.weight for p in self.pending.values())

    # ---- numbering

    def next_seq(self) -> int:
        self.seq = self.seq % (SEQ_MODULO - 1) + 1
        return self.seq

    def build(self, items: list[Request], stream: Optional[StreamT], capture: bool,
              outgoing: list[Outgoing[StreamT]]) -> list[Pending[StreamT]]:
        """Number and build requests ``(op, build, multi)``; their buffers go to ``outgoing``.

        ``build(seq) -> bytes`` makes a request.  One that cannot be built
        raises, or with ``capture`` becomes a record already failed with
        that error (nothing is sent for it).
        """
        pendings: list[Pending[StreamT]] = []
        for op, build, multi in items:
            seq = self.next_seq()
            p = Pending(seq, next(self.order), op, multi, stream)
            try:
                data = build(seq)
                p.ack = bool(FLAGS_AT.unpack_from(data, 6)[0] & P.NLM_F_ACK)
                outgoing.append(Outgoing(data, [p]))
            except (errors.RtmgrError, ValueError, TypeError, KeyError) as exc:
                if not capture:
                    raise
                p.done = True
                p.error = exc if isinstance(exc, errors.RtmgrError) else \
                    errors.InvalidRequest(_errno.EINVAL, str(exc), op.describe())
            pendings.append(p)
        return pendings

    def pack(self, items: list[Item],
             outgoing: list[Outgoing[StreamT]]) -> list[Pending[StreamT]]:
        """Number and pack batch requests ``(verb, obj)``, in order.

        ``verb`` is add, replace, change, append or delete (``obj`` a
        Route), or flush (``obj`` a Filter or None).  Returns records in
        request order: a :class:`Run` per buffer of route changes, a
        :class:`Pending` per flush; :func:`batch_results` turns them into
        one result per request.  A request that cannot even be built fails
        on its own, the others go.

        A run is what one buffer holds (at most SEND_CHUNK bytes and the
        requests one sendmsg may carry): every request without NLM_F_ACK but
        the last, so the kernel sends one ACK per buffer plus an error per
        failed request (see :class:`Run`).  This loop runs once per route
        of every batch: it is kept flat on purpose.
        """
        records: list[Pending[StreamT]] = []
        per_send = self.per_send
        flags_of = RUN_FLAGS
        wrap = SEQ_MODULO - 1
        builder = self.builder
        if builder is None:
            builder = self.builder = nl.BatchBuilder(SEND_CHUNK)
        put = builder.put
        seq = self.seq
        run: Optional[Run[StreamT]] = None
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
                        [(Op("flush", flt), functools.partial(nl.build_flush, filter=flt, ack=True),
                          False)],
                        None, True, outgoing))
                    seq = self.seq
                    continue
                seq = seq % wrap + 1
                if run is not None and (seq < run.first or idx - run.base >= per_send):
                    self._seal(run, last, idx, outgoing)
                    run = None
                if run is None:
                    run = Run(seq, next(self.order), items, idx)
                    records.append(run)
                verb, route = item
                msg_type, flags = flags_of[verb]
                try:
                    if not put(msg_type, flags, seq, route):
                        # the buffer is full: it ends the run, this request starts the next
                        self._seal(run, last, idx, outgoing)
                        run = Run(seq, next(self.order), items, idx)
                        records.append(run)
                        put(msg_type, flags, seq, route)  # an empty buffer takes it, or EMSGSIZE
                except (errors.RtmgrError, ValueError, TypeError, KeyError, AttributeError) as exc:
                    run.errors[idx - run.base] = exc if isinstance(exc, errors.RtmgrError) else \
                        errors.InvalidRequest(_errno.EINVAL, str(exc), Op(verb, route).describe())
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

    def _seal(self, run: Run[StreamT], last: int, end: int,
              outgoing: list[Outgoing[StreamT]]) -> None:
        """End a run at item ``end``: its buffer, ACK asked of request ``last``."""
        builder = self.builder
        assert builder is not None
        run.count = end - run.base
        if len(builder):
            run.weight = len(builder)
            run.seq = last
            outgoing.append(Outgoing(builder.take(ack_last=True), [run]))
        else:  # nothing of it could be built: answered already
            run.done = True

    # ---- matching

    def register(self, records: list[Pending[StreamT]]) -> None:
        """Expect answers for records (those not already answered)."""
        for p in records:
            if p.done:
                continue
            self.pending[p.seq] = p
            if type(p) is Run:
                self.runs[p.seq] = p
            elif p.multi and self.dump_owner == RESERVED:
                self.dump_owner = p.seq

    def sent(self, records: list[Pending[StreamT]], now: float) -> None:
        """Records went out at ``now``: what they may bring counts against the window."""
        for p in records:
            if not p.done:
                p.sent_at = now
                if not p.multi:
                    self.inflight += p.weight

    def send_failed(self, records: list[Pending[StreamT]],
                    exc: OSError) -> list[Pending[StreamT]]:
        """The sendmsg carrying records failed: fail them; those that were waiting."""
        err = getattr(exc, "errno", None) or _errno.EIO
        failed: list[Pending[StreamT]] = []
        for p in records:
            if self.pending.pop(p.seq, None) is not None:
                self.finish(p, make_error(err, f"send failed: {exc}", p.op))
                if p.multi:
                    self.release_dump(p.seq)
                failed.append(p)
        return failed

    def finish(self, p: Pending[StreamT], error: Optional[errors.RtmgrError] = None) -> None:
        """Resolve a request."""
        if p.done:
            return
        p.done = True
        p.error = error
        if not p.multi and p.sent_at is not None:
            self.inflight -= p.weight
        if type(p) is Run:
            self.runs.pop(p.seq, None)
        resolve(p.waiter)

    def expire(self, p: Pending[StreamT], error: errors.RtmgrError) -> None:
        """Give up on a request with ``error``; its late replies will be dropped."""
        if p.done:
            return
        if self.pending.pop(p.seq, None) is not None:
            self.abandoned[p.seq] = p
        self.finish(p, error)
        if p.multi:  # the kernel produced nothing for long: do not block others
            self.release_dump(p.seq)

    def abandon(self, p: Pending[StreamT]) -> bool:
        """The consumer left a dump: the rest of its replies are dropped when they come."""
        if self.pending.pop(p.seq, None) is None:
            return False
        self.abandoned[p.seq] = p
        p.done = True
        resolve(p.waiter)
        return True

    def stalled(self, p: Pending[StreamT], timeout: float) -> errors.RtmgrError:
        """The kernel sent nothing of a dump for ``timeout``: give it up, and its slot."""
        self.abandon(p)
        self.release_dump(p.seq)
        return make_error(_errno.ETIMEDOUT, f"no dump data for {timeout:g} s", p.op)

    def fail_all(self, error_of: Callable[[Pending[StreamT]], errors.RtmgrError]
                 ) -> list[Pending[StreamT]]:
        """Fail every request in flight (the client closes); those records."""
        pendings = list(self.pending.values())
        self.pending.clear()
        for p in pendings:
            self.finish(p, error_of(p))
        resolve(self.dump_waiter)
        return pendings

    def acquire_dump(self, stream: Optional[StreamT]) -> None:
        """Take the socket's dump slot (the caller saw it free) for a request about to be sent."""
        self.dump_owner = RESERVED
        self.dump_stream = stream

    def release_dump(self, seq: int) -> bool:
        """The dump ``seq`` is over on the socket: True if it held the slot."""
        if self.dump_owner != seq:
            return False
        self.dump_owner = None
        self.dump_stream = None
        resolve(self.dump_waiter)
        return True

    def overran(self) -> None:
        """The request socket overran: replies were dropped by the kernel.

        Once a later reply arrives, every earlier single-reply request lost its own.
        """
        self.overrun_order = max(
            (p.order for p in self.pending.values() if p.sent_at is not None), default=None)

    def receive(self, msgs: list[nl.Message]
                ) -> tuple[bool, list[tuple[Pending[StreamT], StreamT, Chunk]]]:
        """Match a receive buffer's messages to their requests.

        Returns ``(wake, chunks)``: whether anything a caller may wait for
        was resolved (a request, the dump slot), and ``(record, stream, chunk)`` for
        each streaming request the buffer brought something.  An error
        inside a batch run, or a dropped reply, resolves nothing a caller
        waits for: no wake-up for them, which matters when every request of
        a batch fails, one datagram each.
        """
        chunks: dict[int, tuple[Pending[StreamT], StreamT, Chunk]] = {}
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
            if type(p) is Run:
                self._end_run(p, m)
                continue
            final = is_final(p, m)
            if self.overrun_order is not None and final and not p.multi:
                self._fail_lost(p.order)
            if p.stream is not None:
                entry = chunks.get(p.seq)
                if entry is None:
                    entry = chunks[p.seq] = (p, p.stream, Chunk())
                self._stream_part(p, entry[2], m)
                continue
            if m.kind == "error" or (m.kind == "done" and m.error):
                del self.pending[p.seq]
                self.finish(p, m.exception(p.op.describe()))
            elif final:
                if m.kind in ANSWERS:
                    p.replies.append(m)
                del self.pending[p.seq]
                self.finish(p)
            elif m.kind == "malformed":  # the rest of its answer is dropped
                del self.pending[p.seq]
                self.abandoned[p.seq] = p
                self.finish(p, make_error(_errno.EBADMSG, malformed_text(m), p.op))
                continue
            else:
                p.replies.append(m)
                continue
            if p.multi:
                self.release_dump(p.seq)
        return wake, list(chunks.values())

    def _stream_part(self, p: Pending[StreamT], chunk: Chunk, m: nl.Message) -> None:
        """One message of a streaming request into the chunk of this buffer."""
        chunk_part(chunk, m, p.op)
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

    def _run_of(self, seq: int) -> Optional[Run[StreamT]]:
        """The run in flight whose requests include ``seq``."""
        for run in self.runs.values():
            if run.first <= seq <= run.seq:
                return run
        return None

    def _end_run(self, run: Run[StreamT], m: nl.Message) -> None:
        """The answer of a run's last request: the run is over."""
        i = run.seq - run.first
        if m.kind == "error" or (m.kind == "done" and m.error):
            run.errors[i] = m.exception(run.op_at(i).describe())
        elif m.kind == "malformed":
            run.errors[i] = make_error(_errno.EBADMSG, malformed_text(m), run.op_at(i))
        lost = None
        if self.overrun_order is not None:
            if run.order <= self.overrun_order:
                # sent before the overrun: errors of its requests may be gone
                lost = make_error(_errno.ENOBUFS, "the answer may have been lost (receive "
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
        if p is not None and is_final(p, m):
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
                self.finish(q, make_error(
                    _errno.ENOBUFS, "the answer was lost (receive buffer overrun); "
                    "the request may or may not have been applied", q.op))
        if not any(q.order <= floor and not q.multi for q in self.pending.values()):
            self.overrun_order = None


def chunk_part(chunk: Chunk, m: nl.Message, op: Op) -> None:
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
        chunk.end = make_error(_errno.EBADMSG, malformed_text(m), op)


def resolve(waiter: Optional[Waiter]) -> None:
    """Resolve a waiter future, if there is one still waiting."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)



def closed_error(p: Optional[Union[AnyPending, Op]]) -> errors.RtmgrError:
    op = p.op if isinstance(p, Pending) else p
    return make_error(_errno.ESHUTDOWN, "client closed", op)


def timeout_error(p: AnyPending, timeout: float) -> errors.RtmgrError:
    return make_error(_errno.ETIMEDOUT, f"no answer within {timeout:g} s", p.op)


def idle_error(p: AnyPending, timeout: float) -> errors.RtmgrError:
    return make_error(_errno.ETIMEDOUT, f"dump consumer idle for {timeout:g} s: dump abandoned",
                       p.op)


def busy_error(op: Op, reader: str = "thread") -> errors.RtmgrError:
    return make_error(_errno.EBUSY, f"a dump is still being read in this {reader}: "
                       "finish or close it first", op)


def monitor_lost(lost: int) -> errors.RtmgrError:
    return errors.error_for(_errno.ENOBUFS, None, "monitor", None,
                            f"monitor consumer fell behind: {lost} events dropped")


def slot_timeout(op: Op, timeout: float) -> errors.RtmgrError:
    return make_error(_errno.ETIMEDOUT, f"another dump held the socket for {timeout:g} s", op)


def dump_lost(core: Core[Any]) -> bool:
    """After ``timeout`` without a byte: is the dump holding the slot one that
    was abandoned and never ended?  Then the slot is taken over."""
    if core.dump_owner != RESERVED and core.dump_owner not in core.pending:
        log.warning("dump %s never ended; reusing the socket", core.dump_owner)
        return True
    return False



def batch_results(records: list[AnyPending]) -> list[Optional[errors.RtmgrError]]:
    """One entry per request of the records _send_batch_items returned."""
    out: list[Optional[errors.RtmgrError]] = []
    for p in records:
        if type(p) is Run:
            out.extend(p.results())
        else:
            out.append(p.error)
    return out



def is_final(p: AnyPending, m: nl.Message) -> bool:
    """Is ``m`` the last message the kernel sends for request ``p``?"""
    if m.kind in ("error", "done"):
        return True
    if p.multi:
        return False
    return m.kind == "ack" or (not p.ack and m.kind in ANSWERS)


def lookup_of(m: nl.Message) -> Optional[LookupResult]:
    """The LookupResult a LOOKUP reply carries, or None for other messages."""
    if m.kind != "lookup":
        return None
    res = m.lookup
    if isinstance(res, LookupResult):
        return res
    return None


def malformed_text(m: nl.Message) -> str:
    return f"malformed reply: {getattr(m, 'reason', None) or 'unparseable message'}"
