"""Allocation failures on every path, one allocation at a time.

The module's test-only knob ``fail_alloc`` fails the Nth of its
allocations from now (kernel/fault.c; the Debian kernels have no fault
injection of their own).  For each request kind below, N runs 1, 2, 3, ...
until the request no longer reaches an Nth allocation.  Each failure must
be a clean refusal (ENOMEM and the kernel's text) that changed nothing, or,
when the allocation was the notification's, a change that went through and
a listener told ENOBUFS.  The same request then succeeds once the knob is
off: nothing half-done was left in the way.
"""

from __future__ import annotations

import errno
import ipaddress
import time
from dataclasses import dataclass
from typing import Callable

from rtshell import errors
from rtshell import netlink as nl
from rtshell.model import Filter, NextHop, Route, RouteType

from stress import Tally
from stress import oracle

PARAM = "/sys/module/rtmgr/parameters/fail_alloc"
TABLE = 500
GW1, GW2 = ipaddress.ip_address("10.99.0.2"), ipaddress.ip_address("10.99.0.3")


def _param(value: int | None = None) -> int:
    if value is None:
        with open(PARAM) as f:
            return int(f.read())
    with open(PARAM, "w") as f:
        f.write(str(value))
    return value


def _r(dst: str, **kw) -> Route:
    kw.setdefault("table", TABLE)
    if "gateway" not in kw and "nexthops" not in kw and kw.get("type") is None:
        kw["gateway"] = GW1
    return Route(dst, **kw)


@dataclass
class Path:
    """A request, the routes it is made on, and what a failure of it may be."""

    name: str
    base: list[Route]
    request: Callable[[int], bytes]  # seq -> the request
    changes: bool = True  # a change: its notification may be the allocation that fails


def _route(msg_type: int, flags: int, route: Route) -> Callable[[int], bytes]:
    return lambda seq: nl.build_route(msg_type, flags, seq, route)


PATHS = [
    Path("add in a new table", [], _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.0.0/24"))),
    Path("add beside a route", [_r("10.0.0.0/24")], _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.1.0/24"))),
    Path("add under a route", [_r("10.0.0.0/16")], _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.128.0/17"))),
    Path("add a second metric", [_r("10.0.0.0/24")], _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.0.0/24", metric=10))),
    Path("add a third metric", [_r("10.0.0.0/24"), _r("10.0.0.0/24", metric=10)],
         _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.0.0/24", metric=5))),
    Path("add IPv6", [_r("2001:db8::/32", gateway=None, oif=None, type=RouteType.BLACKHOLE)],
         _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("2001:db8:1::/48", gateway=None, type=RouteType.BLACKHOLE))),
    Path("add multipath", [], _route(nl.NEWROUTE, nl.ADD_FLAGS, _r("10.0.0.0/24", gateway=None, nexthops=(
        NextHop(GW1, None, 1), NextHop(GW2, None, 3))))),
    Path("add with echo", [], _route(nl.NEWROUTE, nl.ADD_FLAGS | nl.ECHO, _r("10.0.0.0/24"))),
    Path("replace", [_r("10.0.0.0/24")], _route(nl.NEWROUTE, nl.REPLACE_FLAGS, _r("10.0.0.0/24", gateway=GW2))),
    Path("change", [_r("10.0.0.0/24")], _route(nl.NEWROUTE, nl.CHANGE_FLAGS, _r("10.0.0.0/24", gateway=GW2))),
    Path("append", [_r("10.0.0.0/24")], _route(nl.NEWROUTE, nl.APPEND_FLAGS, _r("10.0.0.0/24", gateway=GW2))),
    Path("delete", [_r("10.0.0.0/24"), _r("10.0.1.0/24")], _route(nl.DELROUTE, nl.DELETE_FLAGS, _r("10.0.0.0/24"))),
    Path("delete one metric", [_r("10.0.0.0/24"), _r("10.0.0.0/24", metric=10)],
         _route(nl.DELROUTE, nl.DELETE_FLAGS, _r("10.0.0.0/24", metric=10))),
    Path("flush", [_r("10.0.0.0/24"), _r("10.0.1.0/24")], lambda seq: nl.build_flush(seq, Filter(table=TABLE))),
    Path("get", [_r("10.0.0.0/24")], lambda seq: nl.build_get(seq, ipaddress.ip_network("10.0.0.0/24"), TABLE,
                                                                ack=True), changes=False),
    Path("lookup", [_r("10.0.0.0/24")], lambda seq: nl.build_lookup(seq, ipaddress.ip_address("10.0.0.9"), TABLE,
                                                                     ack=True), changes=False),
    Path("lookup of many", [_r("10.0.0.0/24")], lambda seq: nl.build_lookup_many(
        seq, [ipaddress.ip_address(f"10.0.0.{i}") for i in range(50)], TABLE), changes=False),
    Path("stats", [_r("10.0.0.0/24")], lambda seq: nl.build_stats(seq, ack=True), changes=False),
    Path("stats of tables", [_r("10.0.0.0/24")], lambda seq: nl.build_stats(seq, tables=True), changes=False),
    Path("dump", [_r("10.0.0.0/24"), _r("10.0.1.0/24")], lambda seq: nl.build_dump(seq, Filter(table=TABLE)),
         changes=False),
]


def _ask(sock: nl.NetlinkSocket, data: bytes, seq: int) -> tuple[int, str]:
    """Send one request (every one here asks for an ACK or ends in DONE); (errno, text) of its end."""
    sock.send(data)
    while True:
        got = sock.recv(60.0)
        if got is None:
            raise TimeoutError("no answer from rtmgr")
        for m in nl.parse(got):
            if m.seq == seq and m.kind in ("ack", "error", "done"):
                return m.error or 0, m.ext_ack or ""


def _ours(table: dict) -> dict:
    return {k: oracle.value(r) for k, r in table.items() if k[0] == TABLE}


def _attempt(sock: nl.NetlinkSocket, listener: nl.NetlinkSocket, path: Path, n: int, tally: Tally) -> bool:
    """Fail the nth allocation of one request; False once the request makes fewer than n."""
    oracle.flush_all()
    _param(0)
    for route in path.base:
        if _ask(sock, nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, 1, route), 1)[0]:
            tally.fail(f"{path.name}: the base route {route} could not be added")
            return False
    while True:  # what the base changes told the listener
        try:
            if listener.recv(0.05) is None:
                break
        except errors.Overrun:
            continue
    before = _ours(oracle.dump_table())
    _param(n)
    err, text = _ask(sock, path.request(2), 2)
    left = _param()
    _param(0)
    if left > 0:  # the request made fewer than n allocations: it must simply have worked
        if err:
            tally.fail(f"{path.name}: refused ({err}: {text}) with no allocation failed")
        tally.counts["paths"] += 1
        tally.notes.append(f"{path.name}: {n - 1} allocation{'s' if n != 2 else ''}")
        return False
    tally.counts["allocations failed"] += 1
    lost = False
    try:
        listener.recv(0.3)
    except errors.Overrun:
        lost = True
    after = _ours(oracle.dump_table())
    if err:
        if err != errno.ENOMEM or not text:
            tally.fail(f"{path.name}, allocation {n}: refused with {err} ({text!r}), not ENOMEM with text")
        if after != before:
            tally.fail(f"{path.name}, allocation {n}: refused, yet the table changed")
        tally.counts["refused with ENOMEM"] += 1
        again, text = _ask(sock, path.request(3), 3)  # without the failure: nothing half-done is in its way
        if again:
            tally.fail(f"{path.name}: after allocation {n} failed, the request itself fails: {again} ({text})")
    elif path.changes and lost:
        tally.counts["notifications lost, listener told ENOBUFS"] += 1
    elif path.changes:
        tally.fail(f"{path.name}, allocation {n}: failed, yet the request was taken and no listener was told")
    else:
        tally.fail(f"{path.name}, allocation {n}: a read that lost an allocation answered as if it had not")
    return True


def run(seed: int, rounds: int = 1) -> Tally:
    """Every path, every allocation of it failed in turn; ``rounds`` times."""
    tally = Tally("allocation failures", seed)
    started = time.monotonic()
    sock = nl.NetlinkSocket()
    listener = nl.NetlinkSocket(groups=nl.GROUP_ROUTE)
    notes: list[str] = []
    try:
        for r in range(rounds):
            for path in PATHS:
                n = 1
                while _attempt(sock, listener, path, n, tally):
                    n += 1
                tally.inputs += n
                tally.requests += n
            if r == 0:
                notes, tally.notes = tally.notes, []
        tally.notes = notes + [f"{len(PATHS)} paths, {rounds} round{'s' if rounds != 1 else ''}"]
    finally:
        _param(0)
        listener.close()
        sock.close()
        oracle.flush_all()
    tally.seconds = time.monotonic() - started
    return tally
