"""An in-process fake of rtmgr that speaks real netlink bytes, for the clients' host tests.

Just enough of the module to drive rtshell.client and rtshell.aio: the
messages are built with the same C library the clients use; requests are
answered one at a time like ``netlink_rcv_skb``; a dump is filled only when
the socket is read (like ``netlink_recvmsg``), with a positional cursor and
NLM_F_DUMP_INTR when the table changed between two buffers; multicast
messages past a receive limit are dropped (ENOBUFS).  A FakeSocket's
``fileno()`` is readable exactly when a ``recv`` would return something, so
an event loop can wait on it.  The real module is exercised by tests/kernel/.
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

from rtshell import client as C


# The module's rules that both fakes (this one and fakes.FakeClient) follow.

def lowest_key(table: dict, table_id: int, dst):
    """The key of the prefix's lowest-metric route in {Route.key: Route}
    (what a get or delete without a metric names), or None."""
    keys = [k for k in table if k[:3] == (table_id, dst.version, dst)]
    return min(keys, key=lambda k: k[3]) if keys else None


def best_match(routes, addr, table_id: int):
    """A lookup's answer: the longest matching prefix, its lowest metric; or None."""
    best = None
    for r in routes:
        if r.table == table_id and r.family == addr.version and addr in r.dst and (
                best is None or (r.dst.prefixlen, -r.metric) > (best.dst.prefixlen, -best.metric)):
            best = r
    return best
from rtshell import errors, netlink as nl
from rtshell import protocol as P
from rtshell.model import Route, sort_key

HDR = struct.Struct("=IHHII")
RTHDR = struct.Struct("=BBBBI")
NLM_F_CAPPED = P.NLM_F_CAPPED
NLM_F_ACK_TLVS = P.NLM_F_ACK_TLVS
NLMSGERR_ATTR_MSG = P.NLMSGERR_ATTR_MSG
NLM_F_DUMP = P.NLM_F_DUMP
NLM_F_DUMP_INTR = P.NLM_F_DUMP_INTR
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
        # dump buffers made ahead into the queue after a read, as netlink_recvmsg
        # does while the receive buffer is below half full: an answer to a
        # request made during a dump then waits behind them
        self.read_ahead = 0
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
                key = r.key if r.metric else self.lowest(r.table, r.dst)  # no metric: the lowest
                if key not in self.table:
                    return self.ack(sock, hdr, seq, errno.ESRCH, "no such route")
                old = self.table.pop(key)
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
            metric = a.get(P.RTMGR_A_METRIC)
            key = (self.lowest(table or 254, dst) if metric is None
                   else (table or 254, dst.version, dst, struct.unpack("=I", metric)[0]))
            r = self.table.get(key)
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

    def lowest(self, table: int, dst):
        return lowest_key(self.table, table, dst)

    def lookup_msg(self, seq: int, addr, table: int, flags: int) -> bytes:
        best = best_match(self.table.values(), addr, table or 254)
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
        self.sends: list[bytes] = []
        self.max_queued = 0  # most answers waiting to be read at once
        self.closed = False
        # a real descriptor, for the client's receive-buffer query: it sizes
        # its in-flight window from SO_RCVBUF (forced large, as rtm_sock does);
        # and for an event loop: readable while a recv() has something
        self._fd_owner, self._peer = socket.socketpair()
        try:
            self._fd_owner.setsockopt(socket.SOL_SOCKET, 33, rcvbuf or 1 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self._fd_owner.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf or 1 << 20)
        self._ready = False  # a byte waits in _fd_owner
        self._overrun = False
        self._dump = None
        kernel.sockets.append(self)

    def fileno(self) -> int:
        return self._fd_owner.fileno()

    # overrun: the next recv() raises ENOBUFS; dump: the dump running, made as it is read
    overrun = property(lambda self: self._overrun, lambda self, v: self._set("_overrun", v))
    dump = property(lambda self: self._dump, lambda self, v: self._set("_dump", v))

    def _set(self, name: str, value) -> None:
        with self.cv:
            setattr(self, name, value)
            self._signal()

    def _signal(self) -> None:
        """Make the descriptor readable exactly while recv() would return something."""
        with self.cv:
            want = bool(self.q) or self._overrun or self._dump is not None
            if want == self._ready or self.closed:
                return
            if want:
                self._peer.send(b"r")
            else:
                self._fd_owner.recv(1, socket.MSG_DONTWAIT)
            self._ready = want

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
            self._signal()
            self.cv.notify_all()

    def _recv(self, timeout):
        deadline = time.monotonic() + (timeout or 0)
        while True:
            with self.cv:
                if self.overrun:
                    self.overrun = False
                    raise errors.Overrun(errno.ENOBUFS, None, "receive")
                if self.q:
                    data = self.q.popleft()
                    self._signal()
                    return data
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

    def recv(self, timeout=None, queued=False):
        data = self._recv(timeout)
        if data is not None and self.kernel.read_ahead:
            with self.kernel.lock:
                while self.dump is not None and len(self.q) < self.kernel.read_ahead:
                    self.deliver(self.kernel.dump_buffer(self))
        return data

    def close(self) -> None:
        self.closed = True
        self._fd_owner.close()
        self._peer.close()
        if self in self.kernel.sockets:
            self.kernel.sockets.remove(self)


def fill(kernel, n: int) -> list[Route]:
    routes = [route(i) for i in range(n)]
    for r in routes:
        kernel.table[r.key] = r
    return routes


def sent_flags(sock) -> list[list[int]]:
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
