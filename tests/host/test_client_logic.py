"""Host tier: the client's own logic, against an in-process fake of rtmgr.

What is tested here is rtshell/client.py alone: sequence matching, timeouts,
streaming and backpressure, abandoned and interrupted dumps, batches and
their undo, notification overrun and resync, overrun of the request
socket.  The fake kernel speaks real netlink bytes (built with the same C
library the client uses), answers one request at a time like
``netlink_rcv_skb``, fills a dump only when the socket is read (like
``netlink_recvmsg``), with a positional cursor and NLM_F_DUMP_INTR when the
table changed between two buffers, and drops multicast messages past a
receive limit (ENOBUFS).  The real module is exercised by tests/kernel/.
"""

from __future__ import annotations

import collections
import errno
import itertools
import socket
import struct
import threading
import time
from ipaddress import ip_address, ip_network

import pytest

from rtshell import client as C
from rtshell import errors, netlink as nl
from rtshell import protocol as P
from rtshell.model import Event, Filter, Route, RouteType, sort_key

HDR = struct.Struct("=IHHII")
RTHDR = struct.Struct("=BBBBI")
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
AF = {4: 2, 6: 10}


def _align(n: int) -> int:
    return (n + 3) & ~3


def nla(atype: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * (_align(n) - n)


def nlmsg(mtype: int, flags: int, seq: int, pid: int, body: bytes) -> bytes:
    body += b"\0" * (_align(len(body)) - len(body))
    return HDR.pack(HDR.size + len(body), mtype, flags, seq, pid) + body


def attrs(body: bytes) -> dict[int, bytes]:
    out, off = {}, 0
    while off + 4 <= len(body):
        n, t = struct.unpack_from("=HH", body, off)
        if n < 4:
            break
        out[t & 0x3FFF] = body[off + 4: off + n]
        off += _align(n)
    return out


def net(n: int) -> ip_network:
    return ip_network(f"10.{n // 256 % 256}.{n % 256}.0/24")


def route(n: int, gw: str = "10.99.0.2", **kw) -> Route:
    return Route(dst=net(n), gateway=ip_address(gw), **kw)


class FakeKernel:
    """Just enough of rtmgr to drive the client: one table, netlink framing."""

    def __init__(self):
        self.lock = threading.RLock()
        self.table: dict = {}
        self.generation = 0
        self.sockets: list[FakeSocket] = []
        self.ports = itertools.count(1000)
        self.dump_chunk = 4  # routes per dump buffer
        self.chunks_made = 0
        self.dumps_started = 0
        self.refuse = None  # route -> (errno, text) or None
        self.on_chunk = None  # called (kernel, chunk_index) before a dump buffer is made
        self.silent = False  # swallow requests (no answer at all)
        self.hold: list | None = None  # collect answers instead of queueing them
        self._sorted: tuple = (None, [])  # (generation, routes in dump order)

    # -- plumbing
    def unicast(self, sock, data: bytes) -> None:
        if self.hold is not None:
            self.hold.append((sock, data))
        else:
            sock.deliver(data)

    def notify(self, data: bytes) -> None:
        for s in self.sockets:
            if s.groups:
                s.deliver(data, multicast=True)

    def ack(self, sock, hdr: bytes, seq: int, err: int = 0, text: str | None = None) -> None:
        flags = NLM_F_CAPPED
        body = struct.pack("=i", -err) + hdr
        if text:
            flags |= NLM_F_ACK_TLVS
            body += nla(NLMSGERR_ATTR_MSG, text.encode() + b"\0")
        self.unicast(sock, nlmsg(P.NLMSG_ERROR, flags, seq, sock.portid, body))

    def changed(self) -> None:
        self.generation += 1

    # -- requests
    def handle(self, sock, data: bytes) -> None:
        off = 0
        while off + HDR.size <= len(data):
            length, mtype, flags, seq, _pid = HDR.unpack_from(data, off)
            msg = data[off: off + length]
            off += _align(length)
            if self.silent:
                continue
            with self.lock:
                self.one(sock, msg, mtype, flags, seq)

    def one(self, sock, msg: bytes, mtype: int, flags: int, seq: int) -> None:
        hdr = msg[:16]
        body = msg[16:]
        if mtype in (P.RTMGR_MSG_NEWROUTE, P.RTMGR_MSG_DELROUTE):
            (m,) = nl.parse(msg)
            r = m.route
            refused = self.refuse(r) if self.refuse else None
            if refused:
                return self.ack(sock, hdr, seq, *refused)
            if mtype == P.RTMGR_MSG_NEWROUTE:
                present = r.key in self.table
                if flags & P.NLM_F_EXCL and present:
                    return self.ack(sock, hdr, seq, errno.EEXIST, "route exists")
                if not flags & P.NLM_F_CREATE and not present:
                    return self.ack(sock, hdr, seq, errno.ENOENT, "no such route")
                self.table[r.key] = r
                note = nl.build_route(P.RTMGR_MSG_NEWROUTE, 0, seq, r)
            else:
                if r.key not in self.table:
                    return self.ack(sock, hdr, seq, errno.ESRCH, "no such route")
                old = self.table.pop(r.key)
                note = nl.build_route(P.RTMGR_MSG_DELROUTE, 0, seq, old)
            self.changed()
            note = note[:12] + struct.pack("=I", sock.portid) + note[16:]
            if flags & P.NLM_F_ECHO:
                self.unicast(sock, note)
            self.notify(note)
            if flags & P.NLM_F_ACK:
                self.ack(sock, hdr, seq)
            return
        if mtype == P.RTMGR_MSG_GETROUTE and flags & NLM_F_DUMP == NLM_F_DUMP:
            self.dumps_started += 1
            sock.dump = {"seq": seq, "pos": 0, "gen": self.generation, "n": 0}
            return
        if mtype == P.RTMGR_MSG_GETROUTE:
            family, dst_len, _t, _p, table = RTHDR.unpack_from(body)
            a = attrs(body[8:])
            dst = ip_network((ip_address(a[1]), dst_len))
            r = self.table.get((table or 254, dst.version, dst))
            if r is None:
                return self.ack(sock, hdr, seq, errno.ENOENT, "no such route")
            return self.unicast(sock, nl.build_route(P.RTMGR_MSG_NEWROUTE, 0, seq, r))
        if mtype == P.RTMGR_MSG_LOOKUP:
            family, _l, _t, _p, table = RTHDR.unpack_from(body)
            a = attrs(body[8:])
            size = 4 if family == 2 else 16
            if flags & NLM_F_DUMP == NLM_F_DUMP:
                raw = a[P.RTMGR_A_ADDRS]
                out = b"".join(self.lookup_msg(seq, ip_address(raw[i:i + size]), table, P.NLM_F_MULTI)
                               for i in range(0, len(raw), size))
                self.unicast(sock, out + nlmsg(P.NLMSG_DONE, P.NLM_F_MULTI, seq, sock.portid,
                                               struct.pack("=i", 0)))
            else:
                self.unicast(sock, self.lookup_msg(seq, ip_address(a[P.RTMGR_A_ADDR]), table, 0))
            return
        if mtype == P.RTMGR_MSG_FLUSH:
            count = len(self.table)
            self.table.clear()
            self.changed()
            reply = nlmsg(P.RTMGR_MSG_FLUSH, 0, seq, sock.portid,
                          RTHDR.pack(0, 0, 0, 0, 0) + nla(P.RTMGR_A_COUNT, struct.pack("=I", count)))
            self.unicast(sock, reply)
            if count:
                self.notify(reply)
            return self.ack(sock, hdr, seq)
        self.ack(sock, hdr, seq, errno.EOPNOTSUPP, "unknown message")

    def lookup_msg(self, seq: int, addr, table: int, flags: int) -> bytes:
        best = None
        for r in self.table.values():
            if r.family == addr.version and addr in r.dst and (r.table == (table or 254)):
                if best is None or r.dst.prefixlen > best.dst.prefixlen:
                    best = r
        if best is None:
            body = RTHDR.pack(AF[addr.version], 0, 0, 0, table) + nla(P.RTMGR_A_ADDR, addr.packed)
        else:
            body = nl.build_route(P.RTMGR_MSG_NEWROUTE, 0, seq, best)[16:] + nla(P.RTMGR_A_ADDR, addr.packed)
        return nlmsg(P.RTMGR_MSG_LOOKUP, flags, seq, 0, body)

    def dump_buffer(self, sock) -> bytes:
        """The next buffer of the socket's dump: made only when it is read."""
        d = sock.dump
        if self.on_chunk is not None:
            self.on_chunk(self, d["n"])
        d["n"] += 1
        self.chunks_made += 1
        version = (self.generation, len(self.table))  # tests also fill the table directly
        if self._sorted[0] != version:
            self._sorted = (version, sorted(self.table.values(), key=sort_key))
        rows = self._sorted[1][d["pos"]: d["pos"] + self.dump_chunk]
        intr = NLM_F_DUMP_INTR if self.generation != d["gen"] else 0
        d["gen"] = self.generation
        d["pos"] += len(rows)
        out = b""
        for i, r in enumerate(rows):
            m = nl.build_route(P.RTMGR_MSG_NEWROUTE, P.NLM_F_MULTI | (intr if i == 0 else 0), d["seq"], r)
            out += m
        if not rows:
            sock.dump = None
            out = nlmsg(P.NLMSG_DONE, P.NLM_F_MULTI | intr, d["seq"], sock.portid, struct.pack("=i", 0))
        return out


class FakeSocket:
    """NetlinkSocket's interface over the fake kernel."""

    def __init__(self, kernel: FakeKernel, groups: int = 0, rcvbuf=None):
        self.kernel = kernel
        self.groups = groups
        self.portid = next(kernel.ports)
        self.limit = None if groups == 0 or rcvbuf is None else max(1, rcvbuf // 1024)
        self.q: collections.deque[bytes] = collections.deque()
        self.cv = threading.Condition()
        self.overrun = False
        self.dump = None
        self.sends: list[bytes] = []
        self.max_queued = 0  # most answers waiting to be read at once
        self.closed = False
        # a real descriptor, for the client's receive-buffer query: it sizes
        # its in-flight window from SO_RCVBUF (forced large, as rtm_sock does)
        self._fd_owner, self._peer = socket.socketpair()
        try:
            self._fd_owner.setsockopt(socket.SOL_SOCKET, 33, rcvbuf or 1 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self._fd_owner.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf or 1 << 20)
        kernel.sockets.append(self)

    def fileno(self) -> int:
        return self._fd_owner.fileno()

    def send(self, data: bytes) -> int:
        self.sends.append(bytes(data))
        self.kernel.handle(self, bytes(data))
        return len(data)

    def deliver(self, data: bytes, multicast: bool = False) -> None:
        with self.cv:
            if multicast and self.limit is not None and len(self.q) >= self.limit:
                self.overrun = True
            else:
                self.q.append(data)
                self.max_queued = max(self.max_queued, len(self.q))
            self.cv.notify_all()

    def recv(self, timeout=None, queued=False):
        deadline = time.monotonic() + (timeout or 0)
        while True:
            with self.cv:
                if self.overrun:
                    self.overrun = False
                    raise errors.Overrun(errno.ENOBUFS, None, "receive")
                if self.q:
                    return self.q.popleft()
                if self.dump is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self.cv.wait(left)
                    continue
            # like netlink_recvmsg: an empty queue and a dump running make
            # the next dump buffer (kernel lock taken without the socket's)
            with self.kernel.lock:
                if self.dump is not None:
                    return self.kernel.dump_buffer(self)

    def close(self) -> None:
        self.closed = True
        self._fd_owner.close()
        self._peer.close()
        if self in self.kernel.sockets:
            self.kernel.sockets.remove(self)


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def client(kernel):
    c = C.Client(timeout=2.0, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    yield c
    c.close()


def fill(kernel, n: int) -> list[Route]:
    routes = [route(i) for i in range(n)]
    for r in routes:
        kernel.table[r.key] = r
    return routes


# ---- single requests ---------------------------------------------------------


def test_add_get_delete_and_echo(client, kernel):
    r = route(1)
    assert client.add(r) is None
    assert kernel.table[r.key] == r
    assert client.get(r.dst) == r
    echoed = client.replace(route(1, gw="10.99.0.3"), echo=True)
    assert echoed == route(1, gw="10.99.0.3")
    client.delete(Route(dst=r.dst, type=RouteType.UNSPEC))
    assert r.key not in kernel.table


def test_error_carries_errno_kernel_text_and_request(client, kernel):
    client.add(route(7))
    with pytest.raises(errors.RouteExists) as info:
        client.add(Route(dst=ip_network("10.0.7.0/24"), gateway=ip_address("10.99.0.2")))
    exc = info.value
    assert exc.errno == errno.EEXIST
    assert exc.ext_ack == "route exists"
    assert exc.request == "route add 10.0.7.0/24 via 10.99.0.2 table 254"
    with pytest.raises(errors.RouteNotFound):
        client.get(ip_network("10.9.9.0/24"))
    with pytest.raises(errors.NoSuchRoute) as info:
        client.delete(route(99))
    assert info.value.request.startswith("route delete 10.0.99.0/24")


def test_answers_matched_by_sequence_whatever_their_order(client, kernel):
    rs = fill(kernel, 8)
    kernel.hold = []
    results: dict[int, Route] = {}

    def ask(i):
        results[i] = client.get(rs[i].dst)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while len(kernel.hold) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    held, kernel.hold = kernel.hold, None
    assert len(held) == 8
    for sock, data in reversed(held):  # answers arrive in the reverse order
        sock.deliver(data)
    for t in threads:
        t.join(5)
    assert results == {i: rs[i] for i in range(8)}


def test_timeout_then_late_answer_is_dropped(client, kernel):
    fill(kernel, 2)
    kernel.hold = []
    client.timeout = 0.3
    t0 = time.monotonic()
    with pytest.raises(errors.Timeout) as info:
        client.get(net(0))
    assert 0.25 < time.monotonic() - t0 < 2
    assert "route get 10.0.0.0/24 table 254" == info.value.request
    held, kernel.hold = kernel.hold, None
    dropped = client.dropped
    for sock, data in held:  # the late answer comes now
        sock.deliver(data)
    assert client.get(net(1)) == route(1)
    assert client.dropped == dropped + 1


def test_lookup_and_lookup_many_in_order_and_chunked(client, kernel, monkeypatch):
    fill(kernel, 4)
    assert client.lookup("10.0.2.9") == route(2)
    with pytest.raises(errors.NoRoute):
        client.lookup("192.0.2.1")
    monkeypatch.setattr(P, "RTMGR_MAX_LOOKUP_ADDRS", 3)
    addrs = ["10.0.3.1", "2001:db8::1", "10.0.0.1", "192.0.2.1", "10.0.1.1", "10.0.2.1", "10.0.3.2"]
    res = client.lookup_many(addrs)
    assert [str(r.addr) for r in res] == addrs
    assert [r.route for r in res] == [route(3), None, route(0), None, route(1), route(2), route(3)]


def test_flush_counts(client, kernel):
    fill(kernel, 5)
    assert client.flush() == 5
    assert not kernel.table


def test_trace_sees_every_buffer(client, kernel):
    seen = []
    client.trace = lambda direction, data: seen.append((direction, bytes(data)))
    client.add(route(3))
    assert [d for d, _ in seen] == ["send", "recv"]
    assert "NEWROUTE" in nl.decode(seen[0][1])


# ---- dumps -----------------------------------------------------------------------


def test_dump_streams_with_backpressure(client, kernel):
    routes = fill(kernel, 200)  # 50 buffers of 4
    it = client.dump()
    first = next(it)
    assert first == routes[0]
    time.sleep(0.5)  # the consumer pauses: the receiver must stop reading
    assert kernel.chunks_made <= C.STREAM_DEPTH + 2
    rest = list(it)
    assert [first] + rest == sorted(routes, key=sort_key)
    assert kernel.chunks_made == 51  # 50 buffers and the DONE


def test_abandoned_dump_leaves_client_usable(client, kernel):
    routes = fill(kernel, 100)
    it = client.dump()
    next(it)
    it.close()  # the consumer walks away mid-dump
    assert client.get(routes[5].dst) == routes[5]
    assert list(client.dump()) == sorted(routes, key=sort_key)
    assert client.dropped > 0


def test_interrupted_dump_restarts_without_duplicates(client, kernel):
    routes = fill(kernel, 40)
    extra = Route(dst=ip_network("10.0.0.0/25"), gateway=ip_address("10.99.0.2"))  # sorts after 10.0.0.0/24

    def churn(k, n):
        # in the middle of the first dump, a route appears before the cursor:
        # the positional cursor now repeats a route (10.0.(4n-1).0/24)
        if k.dumps_started == 1 and n == 3:
            k.table[extra.key] = extra
            k.changed()

    kernel.on_chunk = churn
    got = list(client.dump())
    keys = [sort_key(r) for r in got]
    assert keys == sorted(set(keys))  # no repeat, in order
    assert set(routes) <= set(got)  # every route present throughout is there
    assert kernel.dumps_started == 2

    kernel.dumps_started = 0
    kernel.on_chunk = churn
    snap = list(client.dump(consistent=True))
    assert snap == sorted(kernel.table.values(), key=sort_key)


def test_dump_gives_up_when_always_interrupted(client, kernel):
    fill(kernel, 20)

    def always(k, n):
        if n == 1:
            k.changed()

    kernel.on_chunk = always
    with pytest.raises(C.DumpInterrupted) as info:
        list(client.dump())
    assert info.value.errno == errno.EINTR
    assert kernel.dumps_started == C.DUMP_ATTEMPTS
    kernel.on_chunk = None
    assert len(list(client.dump())) == 20


def test_second_dump_in_same_thread_is_refused_not_hung(client, kernel):
    fill(kernel, 100)
    it = client.dump()
    next(it)
    t0 = time.monotonic()
    with pytest.raises(errors.RtmgrError) as info:
        client.lookup_many(["10.0.1.1"])
    assert info.value.errno == errno.EBUSY
    assert time.monotonic() - t0 < 1
    it.close()
    assert client.lookup_many(["10.0.1.1"])[0].route == route(1)


def test_dump_consumer_that_stalls_loses_its_dump(client, kernel):
    fill(kernel, 200)
    client.timeout = 0.4
    it = client.dump()
    next(it)
    time.sleep(1.2)  # more than timeout without taking anything
    assert client.get(net(3)) == route(3)  # other requests were not stuck for good
    with pytest.raises(errors.Timeout):
        list(it)
    assert len(list(client.dump())) == 200


# ---- batches ---------------------------------------------------------------------


def test_batch_maps_the_one_failure_to_its_index(client, kernel):
    kernel.table[route(500).key] = route(500)
    with pytest.raises(C.BatchError) as info:
        with client.batch() as b:
            for i in range(1000):
                b.add(route(i))
    exc = info.value
    assert [i for i, _ in exc.failures] == [500]
    assert isinstance(exc.failures[0][1], errors.RouteExists)
    assert "route add 10.1.244.0/24" in str(exc)
    assert len(b.results) == 1000 and sum(r is not None for r in b.results) == 1
    assert len(kernel.table) == 1000
    sends = kernel.sockets[0].sends
    assert len(sends) <= 4  # 1000 requests in a handful of sendmsg calls


def test_batch_keeps_unread_answers_within_the_receive_buffer(kernel):
    c = C.Client(timeout=2.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        assert c._window < 1000
        with c.batch() as b:
            for i in range(1000):
                b.add(route(i))
        sock = kernel.sockets[0]
        assert 0 < sock.max_queued <= c._window
        assert len(sock.sends) >= 1000 // c._per_send
        assert len(kernel.table) == 1000
    finally:
        c.close()


def test_batch_no_raise_and_client_side_refusal(client, kernel):
    bad = Route(dst=net(3), gateway=ip_address("2001:db8::1"))  # families differ
    with client.batch(raise_on_error=False) as b:
        for i in range(6):
            b.add(bad if i == 3 else route(i))
    assert [type(e) for e in b.results if e is not None] == [errors.InvalidRequest]
    assert b.results[3] is not None
    assert len(kernel.table) == 5


def _sent_flags(sock) -> list[list[int]]:
    """The nlmsg_flags of every message, per sendmsg."""
    out = []
    for data in sock.sends:
        flags, off = [], 0
        while off + HDR.size <= len(data):
            length, _t, f, _s, _p = HDR.unpack_from(data, off)
            flags.append(f)
            off += _align(length)
        out.append(flags)
    return out


def test_batch_asks_one_ack_per_sendmsg(kernel):
    c = C.Client(timeout=2.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        with c.batch() as b:
            for i in range(300):
                b.add(route(i))
        sends = _sent_flags(kernel.sockets[0])
        assert len(sends) >= 300 // c._per_send and sum(map(len, sends)) == 300
        for flags in sends:  # only the last request of each buffer asks for an ACK
            assert [bool(f & P.NLM_F_ACK) for f in flags] == [False] * (len(flags) - 1) + [True]
        assert len(kernel.table) == 300 and b.results == [None] * 300
        assert c.pending == 0 and c._core.inflight == 0 and not c._core.runs
    finally:
        c.close()


def test_batch_where_every_request_fails_reports_each(kernel):
    c = C.Client(timeout=2.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        fill(kernel, 200)
        with c.batch(raise_on_error=False) as b:
            for i in range(200):
                b.add(route(i))
        assert len(kernel.sockets[0].sends) > 1  # several runs, each ended by a failure
        assert all(isinstance(e, errors.RouteExists) for e in b.results) and len(b.results) == 200
        want = [f"route add {route(i).dst} via 10.99.0.2 table 254" for i in range(200)]
        assert [e.request for e in b.results] == want
        assert c._core.inflight == 0 and not c._core.runs
    finally:
        c.close()


def test_batch_failure_of_the_last_request_of_a_run(kernel):
    c = C.Client(timeout=2.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        n = 3 * c._per_send
        last = [c._per_send - 1, 2 * c._per_send - 1, n - 1]  # each ends a run
        for i in last:
            kernel.table[route(i).key] = route(i)
        with pytest.raises(C.BatchError) as info:
            with c.batch() as b:
                for i in range(n):
                    b.add(route(i))
        assert [i for i, _ in info.value.failures] == last
        assert len(kernel.sockets[0].sends) == 3
        assert len(kernel.table) == n
    finally:
        c.close()


def test_batch_requests_that_cannot_be_built_around_a_run(client, kernel):
    bad = Route(dst=net(3), gateway=ip_address("2001:db8::1"))
    with client.batch(raise_on_error=False) as b:  # the last one fails in the client
        b.add(route(1))
        b.add(bad)
    assert b.results[0] is None and isinstance(b.results[1], errors.InvalidRequest)
    with client.batch(raise_on_error=False) as b:  # none can be built: nothing is sent
        b.add(bad)
        b.add(bad)
    assert [type(e) for e in b.results] == [errors.InvalidRequest] * 2
    assert len(kernel.sockets[0].sends) == 1 and list(kernel.table) == [route(1).key]


def test_batch_keeps_order_around_a_flush(client, kernel):
    with client.batch() as b:
        for i in range(3):
            b.add(route(i))
        b.flush()
        b.add(route(7))
        b.add(route(8))
    assert b.results == [None] * 6
    assert sorted(kernel.table) == sorted([route(7).key, route(8).key])


def test_batch_unanswered_run_times_out_per_request(client, kernel):
    client.timeout = 0.5
    kernel.silent = True
    with pytest.raises(C.BatchError) as info:
        with client.batch() as b:
            for i in range(5):
                b.add(route(i))
    assert [i for i, _ in info.value.failures] == [0, 1, 2, 3, 4]
    assert all(isinstance(e, errors.Timeout) for e in b.results)
    assert b.results[2].request == f"route add {net(2)} via 10.99.0.2 table 254"
    kernel.silent = False
    client.timeout = 2.0
    client.add(route(9))  # still usable; the late nothing never comes
    assert client._core.inflight == 0


def test_batch_run_answered_after_an_overrun_is_unknown(client, kernel):
    kernel.hold = []
    out = {}

    def run():
        with client.batch(raise_on_error=False) as b:
            for i in range(4):
                b.add(route(i))
        out["results"] = b.results

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 5
    while not kernel.hold and time.monotonic() < deadline:
        time.sleep(0.01)
    held, kernel.hold = kernel.hold, None
    sock = held[0][0]
    with sock.cv:  # something was lost before the run's ACK arrives
        sock.overrun = True
        sock.cv.notify_all()
    time.sleep(0.3)
    for s, data in held:
        s.deliver(data)
    t.join(5)
    results = out["results"]
    assert len(results) == 4 and all(isinstance(e, errors.Overrun) for e in results)
    assert "may or may not have been applied" in str(results[0])
    assert results[3].request == f"route add {net(3)} via 10.99.0.2 table 254"


def test_atomic_batch_undoes_what_succeeded(client, kernel):
    a, c, dup = route(1), route(3), route(4)
    for r in (a, c, dup):
        kernel.table[r.key] = r
    before = dict(kernel.table)
    with pytest.raises(C.BatchError) as info:
        with client.batch(atomic=True) as b:
            b.replace(route(1, gw="10.99.0.9"))
            b.add(route(2))
            b.delete(Route(dst=c.dst, type=RouteType.UNSPEC))
            b.add(dup)  # fails: exists
    exc = info.value
    assert [i for i, _ in exc.failures] == [3]
    assert kernel.table == before
    assert len(exc.undone) == 3
    assert any("undoes #1" in u and "delete" in u for u in exc.undone)
    assert not exc.undo_failures


def test_atomic_batch_that_succeeds_changes_everything(client, kernel):
    with client.batch(atomic=True) as b:
        for i in range(10):
            b.add(route(i))
    assert b.results == [None] * 10
    assert len(kernel.table) == 10


def count_gets(kernel):
    """Wrap the fake kernel to count GETROUTE requests; returns the counter."""
    seen = collections.Counter()
    one = kernel.one

    def counting(sock, msg, mtype, flags, seq):
        seen[mtype] += 1
        return one(sock, msg, mtype, flags, seq)

    kernel.one = counting
    return seen


def test_an_atomic_batch_of_new_routes_reads_nothing_first(client, kernel):
    seen = count_gets(kernel)
    kernel.table[route(5).key] = route(5)
    with pytest.raises(C.BatchError) as info:
        with client.batch(atomic=True) as b:
            for i in range(10):
                b.add(route(i))  # #5 exists: fails, and the other nine are undone
    assert seen[P.RTMGR_MSG_GETROUTE] == 0
    assert [i for i, _ in info.value.failures] == [5]
    assert kernel.table == {route(5).key: route(5)}


def test_a_key_added_twice_or_beside_a_flush_is_still_read_and_restored(client, kernel):
    old = route(1, gw="10.99.0.9")
    kernel.table[old.key] = old
    kernel.table[route(7).key] = route(7)
    seen = count_gets(kernel)
    with pytest.raises(C.BatchError):
        with client.batch(atomic=True) as b:
            b.add(route(1))  # fails: exists
            b.delete(Route(dst=net(1), type=RouteType.UNSPEC))
            b.add(route(1))  # succeeds: must come back as old
            b.add(route(7))  # fails
    assert seen[P.RTMGR_MSG_GETROUTE] >= 1
    assert kernel.table == {old.key: old, route(7).key: route(7)}


# ---- notifications -----------------------------------------------------------------


def test_subscribe_sees_changes_with_requester_port(client, kernel):
    events = []
    sub = client.subscribe(events.append)
    client.add(route(1))
    client.delete(Route(dst=net(1), type=RouteType.UNSPEC))
    deadline = time.monotonic() + 3
    while len(events) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.kind for e in events] == ["new", "del"]
    assert events[0].pid == client.portid
    sub.close()


def test_monitor_iterates_with_filter(client, kernel):
    with client.monitor(Filter(prefix=ip_network("10.0.0.0/16"), match=C.Filter().match.ROOT)) as mon:
        client.add(Route(dst=ip_network("10.5.0.0/24"), gateway=ip_address("10.99.0.2")))
        client.add(route(9))
        ev = next(mon)
    assert ev.kind == "new" and ev.route == route(9)


def test_dropped_monitor_unsubscribes(client, kernel):
    import gc

    mon = client.monitor()
    assert len(client._subs) == 1
    del mon
    gc.collect()
    assert client._subs == []


def test_overrun_without_resync_is_reported(kernel):
    c = C.Client(timeout=3.0, notify_rcvbuf=2048,
                 _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        kinds = []

        def slow(ev):
            kinds.append(ev.kind)
            time.sleep(0.1 if len(kinds) < 3 else 0)

        c.subscribe(slow)
        with c.batch() as b:
            for i in range(50):
                b.add(route(i))
        deadline = time.monotonic() + 5
        while "overrun" not in kinds and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "overrun" in kinds and "resync" not in kinds
        assert c.resyncs == 0
    finally:
        c.close()


def test_notification_overrun_resyncs_to_the_table(kernel):
    c = C.Client(timeout=3.0, notify_rcvbuf=4096,
                 _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        fill(kernel, 10)
        view: dict = {}
        kinds = []

        def on_event(ev: Event):
            kinds.append(ev.kind)
            if isinstance(ev, C.ResyncEvent):
                for r in ev.removed:
                    view.pop(r.key, None)
                for r in ev.added + ev.changed:
                    view[r.key] = r
            elif ev.kind == "new":
                view[ev.route.key] = ev.route
            elif ev.kind == "del":
                view.pop(ev.route.key, None)
            if len(kinds) < 5:
                time.sleep(0.2)  # a slow subscriber: the socket overruns

        sub = c.subscribe(on_event, resync=True)
        with c.batch() as b:
            for i in range(10, 300):
                b.add(route(i))
            for i in range(0, 5):
                b.delete(Route(dst=net(i), type=RouteType.UNSPEC))
            for i in range(10, 120):  # changed after their add was queued
                b.replace(route(i, gw="10.99.0.9"))
        marker = route(999)
        c.add(marker)
        deadline = time.monotonic() + 10
        while marker.key not in view and time.monotonic() < deadline:
            time.sleep(0.05)
        quiet = len(kinds)
        while time.monotonic() < deadline:  # until no event comes for a while
            time.sleep(0.5)
            if len(kinds) == quiet:
                break
            quiet = len(kinds)
        assert kinds[0] == "resync"  # the initial table
        assert c.resyncs >= 1 and kinds.count("resync") >= 2
        assert view == kernel.table
        sub.close()
    finally:
        c.close()


# ---- overrun of the request socket, closing ---------------------------------------------


def test_lost_answer_after_overrun_fails_fast(client, kernel):
    fill(kernel, 3)
    kernel.hold = []
    client.timeout = 3
    out = {}

    def ask(i, key):
        try:
            out[key] = client.get(net(i))
        except errors.RtmgrError as exc:
            out[key] = exc

    t1 = threading.Thread(target=ask, args=(0, "first"))
    t1.start()
    while len(kernel.hold) < 1:
        time.sleep(0.01)
    t2 = threading.Thread(target=ask, args=(1, "second"))
    t2.start()
    while len(kernel.hold) < 2:
        time.sleep(0.01)
    held, kernel.hold = kernel.hold, None
    sock = held[0][0]
    with sock.cv:  # the first answer is lost to an overrun, the second arrives
        sock.overrun = True
        sock.cv.notify_all()
    time.sleep(0.3)
    t0 = time.monotonic()
    sock.deliver(held[1][1])
    t1.join(5)
    t2.join(5)
    assert time.monotonic() - t0 < 1.5
    assert isinstance(out["first"], errors.Overrun)
    assert out["second"] == route(1)


def test_close_is_idempotent_and_joins_threads(kernel):
    c = C.Client(timeout=1.0, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    c.subscribe(lambda e: None)
    threads = [c._sender, c._receiver, c._notifier]
    c.close()
    c.close()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(errors.RtmgrError) as info:
        c.get(net(1))
    assert info.value.errno == errno.ESHUTDOWN


def test_many_threads_share_one_client(client, kernel):
    errors_seen = []

    def work(t):
        try:
            for i in range(40):
                r = route(t * 100 + i)
                client.add(r)
                assert client.get(r.dst) == r
                client.delete(Route(dst=r.dst, type=RouteType.UNSPEC))
        except Exception as exc:  # pragma: no cover - reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors_seen
    assert not kernel.table


def test_threads_running_batches_on_one_client_each_get_their_own_results(kernel):
    # a small window: many runs per batch, and the threads' runs interleave on the socket
    c = C.Client(timeout=5.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    taken = {t: [i for i in range(300) if i % (t + 5) == 0] for t in range(4)}
    for t, idx in taken.items():
        for i in idx:
            kernel.table[route(t * 1000 + i).key] = route(t * 1000 + i)
    got, problems = {}, []

    def work(t):
        try:
            with c.batch(raise_on_error=False) as b:
                for i in range(300):
                    b.add(route(t * 1000 + i))
            got[t] = b.results
        except Exception as exc:  # pragma: no cover - reported below
            problems.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert not problems and len(got) == 4
        assert len(kernel.sockets[0].sends) > 4 * 300 // c._per_send  # many runs
        for t, results in got.items():
            assert [i for i, e in enumerate(results) if e is not None] == taken[t]
            assert all(results[i].request.startswith(f"route add {net(t * 1000 + i)} ") for i in taken[t])
        assert len(kernel.table) == 4 * 300 and c._core.inflight == 0 and not c._core.runs
    finally:
        c.close()


def test_device_names_in_error_texts_are_reused_briefly(monkeypatch):
    calls = []
    names = {2: "dummy0"}

    def lookup(i):
        calls.append(i)
        return names[i]

    clock = [1000.0]
    monkeypatch.setattr(C.socket, "if_indextoname", lookup)
    monkeypatch.setattr(C.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(C, "_DEV_NAMES", {})
    r = Route(dst=net(1), oif=2)
    assert [C.route_text(r) for _ in range(100)] == [f"{net(1)} dev dummy0 table 254"] * 100
    assert calls == [2]
    names[2] = "uplink"  # renamed: seen once the name is older than DEV_NAME_TTL
    clock[0] += C.DEV_NAME_TTL
    assert C.route_text(r) == f"{net(1)} dev uplink table 254" and calls == [2, 2]
