"""The module's lifetime, over and over: load, fill two namespaces, unload.

Each cycle: ``insmod``; a socket open makes ``rmmod`` refuse; routes in this
namespace and in a second one (created for the cycle, then deleted with its
routes in it); ``rmmod``.  The kernel's unreclaimable slab memory is read
after a first, warming cycle and after the last: what the cycles leave
behind must stay under a quarter of what one cycle's routes take (a module
that kept even 0.5 % of its routes per cycle fails).  Then a namespace
holding many routes is destroyed, and must take them with it.

Needs the module file (``RTMGR_KO``, set by scripts/vm-guest).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

from rtshell import netlink as nl

from stress import Tally, nth_prefix

TOP = Path(__file__).resolve().parents[1]
NETNS = "rtmgr-stress"


def fill(n: int, first: int = 0) -> str:
    """``n`` blackhole routes (no device needed, in any namespace); how many the table then holds."""
    from rtshell.client import Client
    from rtshell.model import Route, RouteType

    with Client(timeout=120.0) as client:
        with client.batch() as b:
            for i in range(first, first + n):
                b.add(Route(nth_prefix(i), type=RouteType.BLACKHOLE,
                            table=100 + i % 3))
        st = client.stats(tables=False)
        return str(st.routes4 + st.routes6)


def _sh(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def _in_netns(n: int) -> str:
    code = f"from stress.lifetime import fill; print(fill({n}))"
    env = dict(os.environ, PYTHONPATH=str(TOP), HOME="/tmp")
    p = subprocess.run(["ip", "netns", "exec", NETNS, sys.executable, "-c", code], env=env,
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else f"failed: {p.stderr.strip()[-300:]}"


def unreclaimable_kb() -> int:
    """SUnreclaim of /proc/meminfo, once the kernel's deferred frees have run."""
    time.sleep(1.0)  # RCU callbacks and the namespace cleanup work
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("SUnreclaim:"):
            return int(line.split()[1])
    raise RuntimeError("no SUnreclaim in /proc/meminfo")


def _rmmod() -> subprocess.CompletedProcess:
    gc.collect()  # sockets of finished clients hold the module until collected
    return _sh("rmmod", "rtmgr")


def _cycle(tally: Tally, ko: str, routes: int) -> None:
    load = _sh("insmod", ko)
    if load.returncode != 0:
        tally.fail(f"insmod failed: {load.stderr.strip()}")
        return
    held = nl.NetlinkSocket()
    if _rmmod().returncode == 0:
        tally.fail("rmmod succeeded with a socket open")
        _sh("insmod", ko)
    held.close()
    got = fill(routes)
    if got != str(routes):
        tally.fail(f"this namespace holds {got} routes after adding {routes}")
    _sh("ip", "netns", "add", NETNS)
    try:
        got = _in_netns(routes)
        if got != str(routes):
            tally.fail(f"the second namespace holds {got} routes after adding {routes}")
    finally:
        _sh("ip", "netns", "del", NETNS)
    unload = _rmmod()
    if unload.returncode != 0:
        tally.fail(f"rmmod failed: {unload.stderr.strip()}")
    tally.counts["cycles"] += 1


def run(seed: int, cycles: int, routes: int, big: int) -> Tally:
    """``cycles`` cycles of ``routes`` routes per namespace, then a namespace of ``big`` routes destroyed."""
    tally = Tally("load, fill, unload", seed)
    started = time.monotonic()
    ko = os.environ.get("RTMGR_KO")
    if not ko:
        tally.fail("needs the module file (RTMGR_KO): run inside the VM by scripts/vm-run")
        return tally
    if _rmmod().returncode != 0:
        tally.fail("the module could not be unloaded before the cycles")
        return tally
    _cycle(tally, ko, routes)  # warms the kernel's caches: the baseline is taken after it
    base = unreclaimable_kb()
    for _ in range(cycles - 1):
        _cycle(tally, ko, routes)
    after = unreclaimable_kb()
    _sh("insmod", ko)
    loaded = unreclaimable_kb()
    _sh("ip", "netns", "add", NETNS)
    try:
        got = _in_netns(big)
        if got != str(big):
            tally.fail(f"a namespace holds {got} routes after adding {big}")
        full = unreclaimable_kb()
    finally:
        _sh("ip", "netns", "del", NETNS)
    emptied = unreclaimable_kb()
    # one cycle's routes: the big namespace's cost, scaled to a cycle's two namespaces
    per_cycle = max(1, (full - loaded) * 2 * routes // max(big, 1))
    left = after - base
    tally.inputs = tally.requests = cycles * 2 * routes + big
    tally.notes.append(f"unreclaimable slab: {base:,} kB after the first cycle, {after:,} kB after the last "
                       f"({left:+,} kB); one cycle's routes take about {per_cycle:,} kB")
    tally.notes.append(f"a namespace of {big:,} routes: {full - loaded:+,} kB while it lived, "
                       f"{emptied - loaded:+,} kB once destroyed")
    if left > per_cycle // 4:
        tally.fail(f"{cycles} cycles left {left:,} kB of slab behind (one cycle's routes: {per_cycle:,} kB)")
    if emptied - loaded > (full - loaded) // 4:
        tally.fail(f"destroying the namespace of {big:,} routes gave back {full - emptied:,} of "
                   f"{full - loaded:,} kB")
    tally.seconds = time.monotonic() - started
    return tally
