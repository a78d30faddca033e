"""The protocol core (rtshell.client.core.Core) as a table: requests in,
golden message lists in, outcomes out.  No thread, socket, clock or sleep:
what the threaded client and rtshell.aio both rely on, checked without
either of them."""

from __future__ import annotations

import errno
import functools
import struct
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest

from fake_kernel import NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG, net, nla, nlmsg, route
from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.client.core import Core, Op, Outgoing, Pending, batch_results
from rtshell.client.plans import dump_request

PID = 4242


# ---- golden replies: (seq) -> the bytes the kernel sends --------------------------------

def ack(seq: int) -> bytes:
    return nlmsg(P.NLMSG_ERROR, NLM_F_CAPPED, seq, PID, struct.pack("=i", 0) + bytes(16))


def refused(seq: int, err: int, text: str) -> bytes:
    body = struct.pack("=i", -err) + bytes(16) + nla(NLMSGERR_ATTR_MSG, text.encode() + b"\0")
    return nlmsg(P.NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, seq, PID, body)


def routes(seq: int, first: int, n: int, intr: bool = False) -> bytes:
    flags = P.NLM_F_MULTI | (P.NLM_F_DUMP_INTR if intr else 0)
    return b"".join(nl.build_route(P.RTMGR_MSG_NEWROUTE, flags, seq, route(first + i)) for i in range(n))


def done(seq: int, err: int = 0, intr: bool = False) -> bytes:
    flags = P.NLM_F_MULTI | (P.NLM_F_DUMP_INTR if intr else 0)
    return nlmsg(P.NLMSG_DONE, flags, seq, PID, struct.pack("=i", -err))


def cut(seq: int) -> bytes:
    """A route message whose attribute lies about its length: malformed."""
    good = nl.build_route(P.RTMGR_MSG_NEWROUTE, 0, seq, route(1))
    return good[:24] + struct.pack("=H", 200) + good[26:]  # the first attribute's nla_len


# ---- the table ---------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    #: what is sent: "get" (one request, one reply), "dump" (multipart), "batch:N" (N adds, one run)
    sent: tuple[str, ...]
    #: receive buffers, each a list of replies made from the requests' seqs (seqs[i]: request i)
    buffers: list[Callable[[list[int]], bytes]]
    #: per request: None (answered), an errno (failed with it), "open" (still waiting),
    #: or a list (a batch: one entry per request, None or errno)
    want: list
    overrun_after: Optional[int] = None  # Core.overran() before this buffer
    abandon: Optional[int] = None  # the consumer left request i before any buffer
    dropped: int = 0
    chunks: list = field(default_factory=list)  # per buffer: [(routes, intr_at, end)] of streamed dumps
    stream: bool = False  # dumps are streamed (as rtshell.aio reads them)
    #: buffers that resolve nothing a caller waits for (a run's errors before its ACK)
    quiet: tuple[int, ...] = ()


CASES = [
    Case("replies in any order are each matched by seq",
         ("get", "get", "get"),
         [lambda s: ack(s[2]) + ack(s[0]), lambda s: ack(s[1])],
         [None, None, None]),
    Case("a refusal carries errno and the kernel's text",
         ("get", "get"),
         [lambda s: refused(s[0], errno.EEXIST, "route exists") + ack(s[1])],
         [errno.EEXIST, None]),
    Case("a reply to no request is dropped and counted",
         ("get",),
         [lambda s: ack(s[0] + 100) + ack(s[0])],
         [None], dropped=1),
    Case("a batch run: errors of its requests, then the ACK of its last",
         ("batch:5",),
         [lambda s: refused(s[0] + 1, errno.EEXIST, "route exists") + refused(s[0] + 3, errno.ENODEV, "no device")
          + ack(s[0] + 4)],
         [[None, errno.EEXIST, None, errno.ENODEV, None]]),
    Case("a batch run whose last request fails ends with that error",
         ("batch:3",),
         [lambda s: refused(s[0] + 2, errno.ENOSPC, "table full")],
         [[None, None, errno.ENOSPC]]),
    Case("a run's errors may come in buffers of their own before its ACK",
         ("batch:4", "get"),
         [lambda s: refused(s[0], errno.EEXIST, "route exists"), lambda s: ack(s[0] + 3) + ack(s[1])],
         [[errno.EEXIST, None, None, None], None], quiet=(0,)),
    Case("a run not answered yet stays open",
         ("batch:3",),
         [lambda s: refused(s[0], errno.EEXIST, "route exists")],
         ["open"], quiet=(0,)),
    Case("after an overrun, a later reply fails the earlier requests whose replies were lost",
         ("get", "get", "get"),
         [lambda s: ack(s[2])],
         [errno.ENOBUFS, errno.ENOBUFS, None], overrun_after=0),
    Case("after an overrun, a run sent before it ends with the loss as its error",
         ("batch:3", "get"),
         [lambda s: ack(s[0] + 2) + ack(s[1])],
         [[errno.ENOBUFS] * 3, None], overrun_after=0),
    Case("a dump: routes over buffers, then DONE",
         ("dump",),
         [lambda s: routes(s[0], 0, 3), lambda s: routes(s[0], 3, 2) + done(s[0])],
         [None]),
    Case("a dump the kernel ends with an error",
         ("dump",),
         [lambda s: routes(s[0], 0, 2) + done(s[0], errno.EINTR)],
         [errno.EINTR]),
    Case("a malformed reply ends its request with EBADMSG; the rest of it is dropped",
         ("get", "get"),
         [lambda s: cut(s[0]) + ack(s[0]) + ack(s[1])],
         [errno.EBADMSG, None], dropped=1),
    Case("an abandoned dump's replies are dropped; its DONE frees the slot",
         ("dump", "get"),
         [lambda s: routes(s[0], 0, 4), lambda s: routes(s[0], 4, 1) + done(s[0]) + ack(s[1])],
         ["abandoned", None], abandon=0, dropped=6, quiet=(0,)),
    Case("a streamed dump is cut into chunks; DUMP_INTR marks where the change was seen",
         ("dump",),
         [lambda s: routes(s[0], 0, 2), lambda s: routes(s[0], 2, 1) + routes(s[0], 3, 1, intr=True)
          + done(s[0], intr=True)],
         [None], stream=True,
         chunks=[[(2, None, None)], [(2, 1, True)]]),
    Case("a streamed dump that fails ends its last chunk with the error",
         ("dump",),
         [lambda s: routes(s[0], 0, 1) + done(s[0], errno.ENOMEM)],
         [None], stream=True, chunks=[[(1, None, errno.ENOMEM)]]),
]


class Stream:
    """What a streaming request's chunks go to (rtshell.aio's DumpStream, reduced)."""


def _build(core: Core, sent: tuple[str, ...], stream: bool) -> list[Pending]:
    outgoing: list[Outgoing] = []
    records: list[Pending] = []
    for what in sent:
        if what == "get":
            (p,) = core.build([(Op("get", net(1), 254),
                                functools.partial(nl.build_get, dst=net(1), table=254), False)],
                              None, False, outgoing)
        elif what == "dump":
            core.acquire_dump(Stream() if stream else None)
            (p,) = core.build([dump_request(None)], core.dump_stream, False, outgoing)
        else:
            n = int(what.split(":")[1])
            (p,) = core.pack([("add", route(i)) for i in range(n)], outgoing)
        records.append(p)
    core.register(records)
    core.sent(records, now=0.0)
    return records


def _first_seq(p: Pending) -> int:
    return getattr(p, "first", p.seq)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_core_matches_replies(case: Case):
    core: Core = Core(per_send=64)
    records = _build(core, case.sent, case.stream)
    seqs = [_first_seq(p) for p in records]
    if case.abandon is not None:
        assert core.abandon(records[case.abandon])
    got_chunks = []
    for i, make in enumerate(case.buffers):
        if case.overrun_after == i:
            core.overran()
        wake, chunks = core.receive(nl.parse(make(seqs)))
        assert wake == (i not in case.quiet)
        got_chunks.append([(len(c.routes), c.intr_at,
                            c.end if c.end in (None, True) else c.end.errno) for _p, _s, c in chunks])
    for p, want in zip(records, case.want):
        if want == "open":
            assert not p.done and p.seq in core.pending
        elif want == "abandoned":
            assert p.done and p.seq not in core.pending
        elif isinstance(want, list):
            assert p.done, "the run was not ended"
            assert [None if e is None else e.errno for e in batch_results([p])] == want
            for e in batch_results([p]):
                assert e is None or e.request.startswith("route add ")
        else:
            assert p.done
            assert (None if p.error is None else p.error.errno) == want
            if want == errno.EEXIST:
                assert p.error.ext_ack == "route exists" and p.error.request.startswith("route get ")
    if case.stream:
        assert got_chunks == case.chunks
    assert core.dropped == case.dropped
    if all(w != "open" for w in case.want):
        assert not core.pending and core.inflight == 0 and not core.runs
    if "dump" in case.sent and all(w != "open" for w in case.want):
        assert core.dump_owner is None, "the dump slot was not freed"


def test_a_dump_without_a_stream_collects_its_routes_as_replies():
    core: Core = Core(per_send=64)
    (p,) = _build(core, ("dump",), stream=False)
    core.receive(nl.parse(routes(p.seq, 0, 3)))
    assert not p.done
    core.receive(nl.parse(routes(p.seq, 3, 2) + done(p.seq)))
    assert p.done and p.error is None
    assert [m.route.dst for m in p.replies if m.route is not None] == [net(i) for i in range(5)]


def test_an_expired_request_drops_its_late_reply():
    core: Core = Core(per_send=64)
    (p,) = _build(core, ("get",), stream=False)
    core.expire(p, errors.error_for(errno.ETIMEDOUT, None, "route get", None, "no answer within 1 s"))
    assert p.done and p.error.errno == errno.ETIMEDOUT and core.inflight == 0
    wake, _ = core.receive(nl.parse(ack(p.seq)))
    assert core.dropped == 1 and not core.pending and not core.abandoned


def test_sequence_numbers_wrap_past_zero():
    core: Core = Core(per_send=64)
    core.seq = (1 << 32) - 2
    outgoing: list[Outgoing] = []
    records = core.pack([("add", route(i)) for i in range(4)], outgoing)
    # a run never wraps: the request after 2**32 - 1 is 1, and starts a run of its own
    assert [(r.first, r.seq) for r in records] == [((1 << 32) - 1, (1 << 32) - 1), (1, 3)]
    core.register(records)
    core.sent(records, 0.0)
    core.receive(nl.parse(ack((1 << 32) - 1) + refused(2, errno.EEXIST, "route exists") + ack(3)))
    assert [None if e is None else e.errno for e in batch_results(records)] == [None, None, errno.EEXIST, None]
