"""The module at its limits: notifications it has no memory for, requests
that arrive while it loads, device removals under RTNL at table size, stats
of thousands of tables, walks long enough to need yielding, and protocol
corners.  Memory failures come from the test-only parameter fail_notify
(kernel/fault.c): the Debian kernels have no fault injection."""

import errno
import ipaddress as ip
import os
import socket
import subprocess
import threading
import time

import pytest

from rtshell import client as C
from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, NextHop, Route, RouteType
from bulk import add_requests, send_all
from wire import NLMSG_HDR, RTMGR_HDR, Wire, a4, attr, error_of, u32

N = ip.ip_network
A = ip.ip_address
PARAMS = "/sys/module/rtmgr/parameters"
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NEEDS_KO = pytest.mark.skipif("RTMGR_KO" not in os.environ,
                              reason="needs the module file (run by scripts/vm-guest)")


def param(name: str, value=None):
    path = f"{PARAMS}/{name}"
    if value is None:
        with open(path) as f:
            return f.read().strip()
    with open(path, "w") as f:
        f.write(str(value))


@pytest.fixture
def fail_notify():
    """Set the number of notification allocations to fail; 0 again after."""
    yield lambda n: param("fail_notify", n)
    param("fail_notify", 0)


def sh(*cmd):
    subprocess.run(cmd, check=True)


def device(name: str) -> int:
    sh("ip", "link", "add", name, "type", "dummy")
    return socket.if_nametoindex(name)


def gone(name: str):
    subprocess.run(["ip", "link", "del", name], capture_output=True)


def quiet(w: Wire, seconds: float = 0.5) -> list:
    """Every datagram's messages until `seconds` pass without one."""
    out = []
    while msgs := w.messages(seconds):
        out.extend(msgs)
    return out


# ---- notifications the kernel had no memory for ----------------------------------


def test_a_lost_notification_is_enobufs_to_listeners(fail_notify, dummy0):
    sub = Wire(groups=nl.GROUP_ROUTE)
    deaf = Wire(groups=nl.GROUP_ROUTE)
    opt = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, P.NETLINK_RTMGR, fileno=os.dup(deaf.sock.fileno()))
    opt.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    opt.close()  # the option stays on the socket the two descriptors share
    w = Wire()
    fail_notify(1)
    assert error_of(w.add(Route(dst=N("10.31.0.0/16"), oif=dummy0)))[0] == 0, "the change itself succeeds"
    with pytest.raises(errors.Overrun):
        sub.messages(5)
    assert quiet(deaf) == [], "NETLINK_NO_ENOBUFS is honoured"
    assert param("fail_notify") == "0"
    assert [r.dst for r in w.routes()] == [N("10.31.0.0/16")]
    # the next change is notified as usual
    w.add(Route(dst=N("10.32.0.0/16"), oif=dummy0))
    (ev,) = quiet(sub)
    assert ev.route.dst == N("10.32.0.0/16")
    assert [m.route.dst for m in quiet(deaf)] == [N("10.32.0.0/16")]
    for x in (sub, deaf, w):
        x.close()


def test_an_echo_without_memory_is_refused_and_changes_nothing(fail_notify, dummy0):
    sub = Wire(groups=nl.GROUP_ROUTE)
    w = Wire()
    gen = w.stats().generation
    fail_notify(1)
    err, text, _ = error_of(w.route(nl.NEWROUTE, nl.ADD_FLAGS | nl.ECHO, Route(dst=N("10.33.0.0/16"), oif=dummy0)))
    assert err == errno.ENOMEM and "NLM_F_ECHO" in text and "nothing changed" in text
    assert w.routes() == [] and w.stats().generation == gen
    w.add(Route(dst=N("10.33.0.0/16"), oif=dummy0))
    quiet(sub)
    fail_notify(1)
    err, text, _ = error_of(w.route(nl.DELROUTE, nl.DELETE_FLAGS | nl.ECHO,
                                    Route(dst=N("10.33.0.0/16"), type=RouteType.UNSPEC)))
    assert err == errno.ENOMEM and "nothing changed" in text
    assert [r.dst for r in w.routes()] == [N("10.33.0.0/16")]
    assert quiet(sub) == [], "a refused request loses nothing: no ENOBUFS"
    sub.close()
    w.close()


def test_lost_flush_and_device_notifications_are_enobufs(fail_notify, dummy0):
    w = Wire()
    idx = device("rtmgr-lost")
    try:
        w.add(Route(dst=N("10.34.0.0/16"), oif=idx))
        w.add(Route(dst=N("10.35.0.0/16"), oif=dummy0))
        sub = Wire(groups=nl.GROUP_ROUTE)
        fail_notify(-1)
        gone("rtmgr-lost")
        with pytest.raises(errors.Overrun):
            sub.messages(5)
        assert w.flush() == 1
        with pytest.raises(errors.Overrun):
            sub.messages(5)
        assert w.routes() == []
        sub.close()
    finally:
        gone("rtmgr-lost")
        w.close()


def test_the_client_resyncs_after_a_lost_notification(fail_notify, dummy0):
    with C.Client(timeout=30.0) as c:
        seen = []
        got = threading.Event()

        def on_event(ev):
            seen.append(ev)
            if isinstance(ev, C.ResyncEvent) and not ev.initial:
                got.set()

        sub = c.subscribe(on_event, None, resync=True)
        fail_notify(1)
        w = Wire()
        w.add(Route(dst=N("10.36.0.0/16"), oif=dummy0))
        assert got.wait(30), f"no resync after the lost notification: {seen}"
        (resync,) = [e for e in seen if isinstance(e, C.ResyncEvent) and not e.initial]
        assert [r.dst for r in resync.added] == [N("10.36.0.0/16")]
        sub.close()
        w.close()


# ---- requests while the module loads ----------------------------------------------


def rmmod():
    import gc
    gc.collect()
    for _ in range(300):
        if subprocess.run(["rmmod", "rtmgr"], capture_output=True).returncode == 0:
            return
        time.sleep(0.03)  # a socket of another thread holds the module a moment
    raise AssertionError("rmmod rtmgr kept failing")


def open_wire(deadline: float) -> Wire:
    while True:
        try:
            return Wire()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@NEEDS_KO
def test_requests_while_loading_are_refused_until_devices_are_watched():
    rmmod()
    idx = device("rtmgr-load")
    loading = subprocess.Popen(["insmod", os.environ["RTMGR_KO"], "load_delay_ms=4000"])
    try:
        w = open_wire(time.monotonic() + 30)
        assert loading.poll() is None, "the socket came up while the module was still loading"
        err, text, _ = error_of(w.add(Route(dst=N("10.37.0.0/16"), oif=idx)))
        assert (err, text) == (errno.EAGAIN, "rtmgr is still loading; try again")
        gone("rtmgr-load")  # while nobody watches devices
        w.close()
    finally:
        assert loading.wait(60) == 0
        gone("rtmgr-load")
    w = Wire()
    assert w.routes() == [], "no route through a device that went away unseen"
    assert error_of(w.add(Route(dst=N("10.37.0.0/16"), oif=socket.if_nametoindex("dummy0"))))[0] == 0
    w.close()


@NEEDS_KO
def test_a_protocol_held_by_another_module_fails_the_load_with_eaddrinuse():
    holder = os.path.join(os.path.dirname(os.environ["RTMGR_KO"]), "holder", "rtmgr_holder.ko")
    rmmod()
    sh("insmod", holder)
    try:
        subprocess.run(["dmesg", "-C"], check=True)
        load = subprocess.run(["insmod", os.environ["RTMGR_KO"]], capture_output=True, text=True)
        log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    finally:
        sh("rmmod", "rtmgr_holder")
        sh("insmod", os.environ["RTMGR_KO"])
    assert load.returncode != 0 and "Address already in use" in load.stderr, load.stderr
    assert "no netlink socket for protocol 31: another kernel socket holds it" in log, log
    w = Wire()  # loaded again once the protocol is free
    assert w.routes() == []
    w.close()


@NEEDS_KO
def test_load_and_unload_race_socket_opens_and_device_removals():
    stop = threading.Event()
    problems = []

    def clients():
        while not stop.is_set():
            try:
                w = Wire()
            except OSError:
                continue  # not loaded at this moment
            try:
                for i in range(4):
                    try:
                        idx = socket.if_nametoindex(f"rtmgr-r{i}")
                    except OSError:
                        continue
                    out = w.add(Route(dst=N(f"10.38.{i}.0/24"), oif=idx))
                    if error_of(out)[0] not in (0, errno.EEXIST, errno.ENODEV, errno.EAGAIN):
                        problems.append(error_of(out))
            except (OSError, errors.RtmgrError, TimeoutError):
                pass  # the module went away under the socket's feet
            finally:
                w.close()
            time.sleep(0.05)  # a gap in which rmmod can take the module

    def devices():
        while not stop.is_set():
            for i in range(4):
                subprocess.run(["ip", "link", "add", f"rtmgr-r{i}", "type", "dummy"], capture_output=True)
            time.sleep(0.05)
            for i in range(4):
                gone(f"rtmgr-r{i}")

    threads = [threading.Thread(target=clients), threading.Thread(target=devices)]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            rmmod()
            sh("insmod", os.environ["RTMGR_KO"])
            time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for i in range(4):
            gone(f"rtmgr-r{i}")
    assert problems == []
    w = Wire()
    assert w.routes() == [], "every route went with its device"
    w.close()


# ---- device removal at table size ----------------------------------------------------


def test_removing_a_device_visits_only_what_uses_it(wire, dummy0):
    total = 200_000
    send_all(wire.sock, add_requests(0x0B000000, total, dummy0, plen=32))
    assert wire.stats().routes4 == total
    unused = device("rtmgr-unused")
    t0 = time.monotonic()
    gone("rtmgr-unused")
    took = time.monotonic() - t0
    assert unused and param("purge_visited") == "0", "a device no route uses costs no walk"
    # a used device: its routes come first in key order, the walk stops after them
    used = device("rtmgr-used")
    for i in range(5):
        wire.add(Route(dst=N(f"1.0.{i}.0/24"), oif=used))
    wire.add(Route(dst=N("1.1.0.0/24"), nexthops=(NextHop(None, used, 1), NextHop(A("10.99.0.9"), dummy0, 1))))
    gone("rtmgr-used")
    assert int(param("purge_visited")) <= 6 + 1
    assert wire.stats().routes4 == total + 1
    (kept,) = wire.routes(Filter(family=4, prefix=N("1.1.0.0/24")))
    assert kept.all_nexthops() == (NextHop(A("10.99.0.9"), dummy0, 1),)
    print(f"removing an unused device beside {total:,} routes: {took * 1000:.1f} ms")


# ---- stats of many tables -------------------------------------------------------------


def add_in_tables(w: Wire, tables, dst="10.0.0.0", plen=8, oif=0):
    buf = bytearray()
    for t in tables:
        body = RTMGR_HDR.pack(socket.AF_INET, plen, 0, 0, t) + attr(P.RTMGR_A_DST, a4(dst)) + attr(P.RTMGR_A_OIF, u32(oif))
        buf += NLMSG_HDR.pack(16 + len(body), P.RTMGR_MSG_NEWROUTE,
                              P.NLM_F_REQUEST | P.NLM_F_CREATE | P.NLM_F_EXCL, 0, 0) + body
        if len(buf) > 60000:
            w.sock.send(bytes(buf))
            buf.clear()
    if buf:
        w.sock.send(bytes(buf))


def test_stats_of_2500_tables_are_complete_and_well_formed(wire, dummy0):
    tables = range(1, 2501)
    add_in_tables(wire, tables, oif=dummy0)
    totals = wire.stats()
    assert (totals.routes4, totals.table_count, totals.tables) == (2500, 2500, ())
    out = wire.exchange(nl.build_stats(wire.next_seq(), tables=True))
    assert out[-1].kind == "done" and not out[-1].error
    assert not [m for m in out if m.kind == "malformed"]
    parts = [m for m in out if m.kind == "stats"]
    assert len(parts) == 1 + 2500 and all(m.multi for m in parts)
    with C.Client(timeout=60.0) as c:
        st = c.stats()
    assert st.table_count == 2500 and st.routes4 == 2500
    assert [(t.table, t.family, t.routes) for t in st.tables] == [(t, 4, 1) for t in tables]
    # the totals alone stay one small message and an ACK
    assert [m.kind for m in wire.exchange(nl.build_stats(wire.next_seq(), ack=True))] == ["stats", "ack"]


def test_reads_that_find_nothing_are_misses_not_errors(wire, dummy0):
    before = wire.stats()
    with C.Client(timeout=30.0) as c:
        for i in range(20):
            with pytest.raises(errors.RouteNotFound):
                c.get(N(f"10.40.{i}.0/24"))
        with pytest.raises(errors.NoRoute):
            c.lookup(A("10.41.0.1"))
    after = wire.stats()
    assert after.misses - before.misses == 21
    assert after.errors == before.errors


# ---- long walks ------------------------------------------------------------------------


def test_a_dump_matching_little_of_a_big_table_is_exact(wire, dummy0, dummy1):
    total = 200_000
    send_all(wire.sock, add_requests(0x0B000000, total, dummy0, plen=32))
    wanted = [N("11.0.0.0/9"), N("11.1.128.0/17"), N("11.3.13.64/26")]
    for dst in wanted:
        wire.add(Route(dst=dst, oif=dummy1))
    # the dump leaves the RCU section every few thousand nodes and resumes from its key
    assert [r.dst for r in wire.routes(Filter(oif=dummy1))] == wanted
    assert wire.flush(Filter(oif=dummy0)) == total


# ---- protocol corners ---------------------------------------------------------------


def test_delete_with_an_unknown_type_is_einval(wire, dummy0):
    wire.add(Route(dst=N("10.42.0.0/16"), oif=dummy0))
    hdr = RTMGR_HDR.pack(socket.AF_INET, 16, P.RTMGR_TYPE_MAX + 1, 0, 0)
    err, text, _ = error_of(wire.raw(P.RTMGR_MSG_DELROUTE, P.NLM_F_REQUEST | P.NLM_F_ACK, hdr,
                                     attr(P.RTMGR_A_DST, a4("10.42.0.0"))))
    assert (err, text) == (errno.EINVAL, "unknown route type")
    assert len(wire.routes()) == 1


def test_a_second_dump_on_one_socket_says_why_it_is_busy(wire, dummy0):
    send_all(wire.sock, add_requests(0x0A000000, 5000, dummy0))
    first = wire.next_seq()
    wire.sock.send(nl.build_dump(first, None))
    second = wire.next_seq()
    wire.sock.send(nl.build_dump(second, None))
    refusal = None
    while refusal is None:
        msgs = wire.messages(30)
        assert msgs, "no answer"
        refusal = next((m for m in msgs if m.seq == second and m.kind == "error"), None)
    assert refusal.error == errno.EBUSY and "already running" in refusal.ext_ack
    while not any(m.kind == "done" and m.seq == first for m in msgs):
        msgs = wire.messages(30)
