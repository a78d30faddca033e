"""Fast bulk traffic for the large kernel-tier tests.

Python under full emulation runs a per-route loop slowly, so a million add
requests are made the way a C program would lay them out: one template
message repeated, then each address byte written down its column with one
extended-slice assignment.  The kernel parses every message as usual.
"""

from __future__ import annotations

import struct

from rtshell import netlink as nl
from rtshell import protocol as P
from wire import NLMSG_HDR, RTMGR_HDR, a4, attr, u32


def add_template(oif: int, plen: int = 32, table: int = 0) -> tuple[bytes, int]:
    """One IPv4 add request (no ACK) and the offset of its destination bytes."""
    body = RTMGR_HDR.pack(2, plen, 0, 0, table) + attr(P.RTMGR_A_DST, a4("0.0.0.0")) + attr(P.RTMGR_A_OIF, u32(oif))
    flags = P.NLM_F_REQUEST | P.NLM_F_CREATE | P.NLM_F_EXCL
    msg = NLMSG_HDR.pack(16 + len(body), P.RTMGR_MSG_NEWROUTE, flags, 0, 0) + body
    return msg, 16 + 8 + 4


def address_columns(first: int, count: int, step: int = 1) -> list[bytes]:
    """Byte columns (most significant first) of count IPv4 addresses."""
    cols = []
    for shift in (24, 16, 8, 0):
        cols.append(bytes(((first + i * step) >> shift) & 0xFF for i in range(count)))
    return cols


def add_requests(first: int, count: int, oif: int, plen: int = 32, step: int = 1, chunk: int = 2048):
    """Yield buffers of add requests for count prefixes first, first+step, ..."""
    msg, off = add_template(oif, plen)
    size = len(msg)
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        buf = bytearray(msg * n)
        for j, col in enumerate(address_columns(first + start * step, n, step)):
            buf[off + j :: size] = col
        yield bytes(buf)


def send_all(sock: nl.NetlinkSocket, buffers) -> None:
    for b in buffers:
        sock.send(b)


def walk_dump(sock: nl.NetlinkSocket, timeout: float = 120.0):
    """Count a dump's routes and check their order without building objects.

    Returns (count, sorted, interrupted); raises on an error reply.
    """
    hdr = struct.Struct("=IHH")
    count = 0
    prev = None
    in_order = True
    intr = False
    while True:
        data = sock.recv(timeout)
        if data is None:
            raise TimeoutError("dump stalled")
        off = 0
        end = len(data)
        while off < end:
            length, mtype, flags = hdr.unpack_from(data, off)
            if flags & P.NLM_F_DUMP_INTR:
                intr = True
            if mtype == 3:  # NLMSG_DONE
                return count, in_order, intr
            if mtype == 2:
                raise nl.parse(data[off:])[0].exception("dump")
            # rtmgr_hdr at off+16: dst_len at +17; DST attribute follows at +24
            key = (data[off + 28 : off + 32], data[off + 17])
            if prev is not None and key <= prev:
                in_order = False
            prev = key
            count += 1
            off += (length + 3) & ~3
