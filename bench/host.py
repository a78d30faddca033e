"""``python -m bench.host``: the receive-buffer parser on the host (no VM).

Builds dump buffers the way rtmgr lays them out (kernel/notify.c:
rtmgr_fill_route: NEWROUTE with NLM_F_MULTI, rtmgr_hdr, DST, next hop,
METRIC, CREATED, CHANGED; 32 KiB per datagram, NLMSG_DONE at the end) and
measures, in routes per second:

* ``rtshell.netlink.parse`` -- the whole path to ``Message`` records with
  ``Route`` objects, what every dump and notification goes through;
* the C parser alone (``rtm_parse`` into C structs, no Python objects),
  to show how the time splits between C and object building;

and, against an in-process socket that answers at once every request that asks for an ACK
(:mod:`bench.fakekernel`), ``Client.batch()`` adding N routes: the client's
own cost per route, with the batch builder alone beside it.
"""

from __future__ import annotations

import argparse
import ipaddress
import platform
import struct
import sys
import time

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell._rtmgr_cffi import ffi, lib

from bench.fakekernel import AckingSocket
from bench.timing import median

_NLMSG = struct.Struct("=IHHII")
_HDR = struct.Struct("=BBBBI")  # family, dst_len, type, proto, table
DATAGRAM = 32 * 1024
_AF = {4: 2, 6: 10}


def _attr(atype: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * (-n % 4)


def route_message(dst, oif: int, gateway=None, table: int = 100, seq: int = 1, portid: int = 1) -> bytes:
    """One dump element, attribute for attribute as the kernel puts it."""
    body = _HDR.pack(_AF[dst.version], dst.prefixlen, P.RTMGR_TYPE_UNICAST, 4, table)
    body += _attr(P.RTMGR_A_DST, dst.network_address.packed)
    if gateway is not None:
        body += _attr(P.RTMGR_A_GATEWAY, gateway.packed)
    body += _attr(P.RTMGR_A_OIF, struct.pack("=I", oif))
    body += _attr(P.RTMGR_A_METRIC, struct.pack("=I", 0))
    stamp = struct.pack("=Q", 1_700_000_000_000_000_000)
    body += _attr(P.RTMGR_A_CREATED, stamp) + _attr(P.RTMGR_A_CHANGED, stamp)
    return _NLMSG.pack(16 + len(body), P.RTMGR_MSG_NEWROUTE, P.NLM_F_MULTI, seq, portid) + body


def done_message(seq: int = 1, portid: int = 1) -> bytes:
    return _NLMSG.pack(20, P.NLMSG_DONE, P.NLM_F_MULTI, seq, portid) + struct.pack("=i", 0)


def dump_buffers(messages: list[bytes]) -> list[bytes]:
    """Messages packed into datagrams of at most 32 KiB, DONE in the last."""
    out, cur = [], bytearray()
    for m in messages:
        if len(cur) + len(m) > DATAGRAM:
            out.append(bytes(cur))
            cur = bytearray()
        cur += m
    cur += done_message()
    out.append(bytes(cur))
    return out


SCENARIOS = {
    "IPv4 /32 dev (as in the VM benchmarks)": lambda i: route_message(
        ipaddress.IPv4Network((0x0A000000 + i, 32)), 2),
    "IPv4 /24 via gateway dev": lambda i: route_message(
        ipaddress.IPv4Network(((0x0A000000 + (i << 8)) & 0xFFFFFFFF, 24)), 2,
        ipaddress.IPv4Address("10.99.0.2")),
    "IPv6 /64 via gateway dev": lambda i: route_message(
        ipaddress.IPv6Network(((0x20010DB8 << 96) + (i << 64), 64)), 2,
        ipaddress.IPv6Address("2001:db8:ffff::2")),
}


class CParser:
    """rtm_parse into C arrays only: no Python objects per route."""

    MSGS, ROUTES = 1024, 1024

    def __init__(self):
        self.msgs = ffi.new("struct rtm_msg[]", self.MSGS)
        self.routes = ffi.new("struct rtm_route[]", self.ROUTES)
        self.stats = ffi.new("struct rtm_stats[]", 1)
        self.tables = ffi.new("struct rtm_table_stats[]", 1)
        p = ffi.new("struct rtm_parser *")
        p.msgs, p.msgs_max = self.msgs, self.MSGS
        p.routes, p.routes_max = self.routes, self.ROUTES
        p.stats, p.stats_max = self.stats, 1
        p.tables, p.tables_max = self.tables, 1
        self.parser = p

    def count(self, buf: bytes) -> int:
        """Messages parsed in buf."""
        view = ffi.from_buffer(buf)
        off = total = 0
        while off < len(buf):
            n = lib.rtm_parse(self.parser, view + off, len(buf) - off)
            if n <= 0:
                raise RuntimeError(f"rtm_parse failed at byte {off}")
            total += self.parser.n_msgs
            off += n
        return total


def measure(buffers: list[bytes], routes: int, runs: int) -> dict[str, float]:
    """Routes per second of both parsers (median of runs, after one warm-up)."""

    def full():
        got = 0
        for b in buffers:
            got += sum(1 for m in nl.parse(b) if m.kind == "route")
        return got

    c = CParser()

    def c_only():
        return sum(c.count(b) for b in buffers) - 1  # minus DONE

    out = {}
    for name, fn in (("netlink.parse -> Route objects", full), ("C rtm_parse only", c_only)):
        if fn() != routes:
            raise RuntimeError(f"{name}: wrong number of routes")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = routes / median(times)
    return out


def batch_rates(n: int, runs: int) -> dict[str, float]:
    """Routes per second of Client.batch() on an instant kernel, and of BatchBuilder alone."""
    from rtshell.client import Client
    from rtshell.model import Route

    rts = [Route(dst=ipaddress.IPv4Network((0x0A000000 + i, 32)), table=100, oif=2) for i in range(n)]

    def client_batch():
        with Client(timeout=60.0, _socket_factory=AckingSocket) as client:
            start = time.perf_counter()
            with client.batch() as b:
                for r in rts:
                    b.add(r)
            return time.perf_counter() - start

    def builder():
        start = time.perf_counter()
        for _ in nl.BatchBuilder().pack((nl.NEWROUTE, nl.ADD_FLAGS, i + 1, r) for i, r in enumerate(rts)):
            pass
        return time.perf_counter() - start

    def objects():
        start = time.perf_counter()
        [Route(dst=ipaddress.IPv4Network((0x0A000000 + i, 32)), table=100, oif=2) for i in range(n)]
        return time.perf_counter() - start

    out = {}
    for name, fn in (("Client.batch(), instant kernel", client_batch),
                     ("BatchBuilder.pack() alone", builder),
                     ("building the Route objects (not timed above)", objects)):
        fn()
        out[name] = n / median([fn() for _ in range(runs)])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.host", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--routes", "-n", type=int, default=100_000, help="routes per dump (default %(default)s)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per figure, median taken (default %(default)s)")
    args = p.parse_args(argv)
    print(f"receive-buffer parser, {args.routes:,} routes per dump, median of {args.runs} runs, "
          f"Python {platform.python_version()} on {platform.machine()}")
    print(f"{'scenario':<42}{'bytes/route':>12}{'netlink.parse':>18}{'C rtm_parse only':>20}{'C share':>9}")
    for name, make in SCENARIOS.items():
        messages = [make(i) for i in range(args.routes)]
        buffers = dump_buffers(messages)
        rates = measure(buffers, args.routes, args.runs)
        full, c_only = rates["netlink.parse -> Route objects"], rates["C rtm_parse only"]
        print(f"{name:<42}{len(messages[0]):>12}{full:>12,.0f} rt/s{c_only:>14,.0f} rt/s"
              f"{full / c_only:>8.1%}")
    print("C share: the part of netlink.parse's time spent in the C parser; the rest builds Python objects.")
    print()
    print(f"IPv4 /32 adds, {args.routes:,} routes, against an in-process socket that answers at once")
    for name, rate in batch_rates(args.routes, args.runs).items():
        print(f"{name:<50}{rate:>14,.0f} routes/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
