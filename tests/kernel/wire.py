"""A synchronous netlink wire for the kernel tier.

Requests go through rtshell.netlink (the real builders and parser); raw()
sends hand-made bytes, for requests the builders would refuse to make.
"""

from __future__ import annotations

import socket
import struct
from typing import Optional

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Route

NLMSG_HDR = struct.Struct("=IHHII")
RTMGR_HDR = struct.Struct("=BBBBI")


def attr(atype: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * (-n % 4)


NLA_F_NESTED = P.NLA_F_NESTED


def nest(atype: int, payload: bytes) -> bytes:
    return attr(atype | NLA_F_NESTED, payload)


def u32(v: int) -> bytes:
    return struct.pack("=I", v)


def a4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


def a6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


class Wire:
    def __init__(self, groups: int = 0, rcvbuf: Optional[int] = None):
        self.sock = nl.NetlinkSocket(groups=groups, rcvbuf=rcvbuf)
        self.seq = 1000

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def close(self) -> None:
        self.sock.close()

    def messages(self, timeout: float = 30.0):
        """Parsed messages of the next datagram (or [] on timeout)."""
        data = self.sock.recv(timeout)
        return [] if data is None else nl.parse(data)

    def exchange(self, data: bytes, timeout: float = 60.0) -> list:
        """Send one request; collect replies up to its ACK, error or DONE."""
        self.sock.send(data)
        out = []
        while True:
            msgs = self.messages(timeout)
            if not msgs:
                raise TimeoutError("no answer from rtmgr")
            for m in msgs:
                out.append(m)
                if m.kind in ("ack", "error", "done"):
                    return out

    def raw(self, mtype: int, flags: int, hdr: bytes, attrs: bytes = b"") -> list:
        body = hdr + attrs
        seq = self.next_seq()
        return self.exchange(NLMSG_HDR.pack(16 + len(body), mtype, flags, seq, 0) + body)

    # -- the common requests, through the real builders -------------------------
    def route(self, msg_type: int, flags: int, route: Route, **kw) -> list:
        return self.exchange(nl.build_route(msg_type, flags, self.next_seq(), route, **kw))

    def add(self, route: Route) -> list:
        return self.route(nl.NEWROUTE, nl.ADD_FLAGS, route)

    def dump(self, flt=None) -> list:
        return self.exchange(nl.build_dump(self.next_seq(), flt))

    def routes(self, flt=None) -> list:
        out = self.dump(flt)
        assert out[-1].kind == "done" and not out[-1].error, out[-1]
        return [m.route for m in out if m.kind == "route"]

    def stats(self):
        out = self.exchange(nl.build_stats(self.next_seq(), ack=True))
        return next(m.stats for m in out if m.kind == "stats")

    def flush(self, flt=None) -> int:
        out = self.exchange(nl.build_flush(self.next_seq(), flt))
        assert out[-1].kind == "ack", out[-1]
        return next(m.count for m in out if m.kind == "flush")


def error_of(msgs: list):
    """(errno, ext_ack, offset) of the final message, errno 0 for an ACK."""
    last = msgs[-1]
    assert last.kind in ("ack", "error"), last
    return (last.error or 0, last.ext_ack, last.offset)
