"""Notifications, permissions, namespaces, devices, and the module's life:
load, fill, close mid-dump, unload, with nothing left behind."""

import errno
import gc
import ipaddress as ip
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from rtshell import netlink as nl
from rtshell.model import Filter, Match, NextHop, Route, RouteType
from bulk import add_requests, send_all
from nobody import as_nobody
from wire import Wire, error_of

N = ip.ip_network
A = ip.ip_address
TOP = os.environ.get("RTMGR_TOP", os.getcwd())


def events(sub, until=1.0):
    """Every notification that arrives within `until` seconds of quiet."""
    out = []
    while True:
        msgs = sub.messages(until)
        if not msgs:
            return out
        out.extend(msgs)


def sh(*cmd):
    subprocess.run(cmd, check=True)


def py(code, *, user=None, netns=None, check=True):
    """Run Python code in a child (optionally as another user or in a netns)."""
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    env = dict(os.environ, PYTHONPATH=f"{TOP}:{TOP}/tests/kernel", HOME="/tmp")
    kw = dict(user=user, group=user) if user is not None else {}
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)
    if check:
        assert p.returncode == 0, p.stderr
    return p.stdout


# ---- notifications --------------------------------------------------------------


def test_every_change_is_notified_once_with_its_requester(dummy0):
    sub = Wire(groups=nl.GROUP_ROUTE)
    w = Wire()
    r = Route(dst=N("10.1.0.0/16"), gateway=A("10.99.0.2"), oif=dummy0)
    steps = [
        (nl.NEWROUTE, nl.ADD_FLAGS, r, nl.lib.NLM_F_CREATE | nl.lib.NLM_F_EXCL),
        (nl.NEWROUTE, nl.REPLACE_FLAGS, Route(dst=r.dst, oif=dummy0), nl.lib.NLM_F_REPLACE),
        (nl.NEWROUTE, nl.APPEND_FLAGS, Route(dst=r.dst, gateway=A("10.99.0.5")), nl.lib.NLM_F_APPEND),
        (nl.DELROUTE, nl.DELETE_FLAGS, Route(dst=r.dst, type=RouteType.UNSPEC), 0),
    ]
    for mtype, flags, route, want_flags in steps:
        out = w.route(mtype, flags, route)
        assert error_of(out)[0] == 0
        (ev,) = events(sub)
        assert (ev.type, ev.pid, ev.seq) == (mtype, w.sock.portid, w.seq)
        assert ev.flags & 0xF00 == want_flags
        assert ev.route.dst == r.dst
    # failures send nothing
    assert error_of(w.route(nl.DELROUTE, nl.DELETE_FLAGS, Route(dst=r.dst, type=RouteType.UNSPEC)))[0] == errno.ESRCH
    assert error_of(w.route(nl.NEWROUTE, nl.CHANGE_FLAGS, r))[0] == errno.ENOENT
    assert events(sub, 0.5) == []
    # flush: one notification with the filter and the count
    for i in range(5):
        w.add(Route(dst=N(f"10.{i}.0.0/16"), oif=dummy0))
    assert w.flush(Filter(family=4, prefix=N("10.0.0.0/8"), match=Match.ROOT)) == 5
    notes = [m for m in events(sub) if m.kind == "flush"]
    assert len(notes) == 1 and notes[0].count == 5
    assert notes[0].filter.prefix == N("10.0.0.0/8") and notes[0].filter.match == Match.ROOT
    assert w.flush() == 0
    assert events(sub, 0.5) == [], "an empty flush changes nothing and says nothing"
    sub.close()
    w.close()


def test_echo_returns_the_route_to_the_requester(dummy0):
    w = Wire()
    out = w.route(nl.NEWROUTE, nl.ADD_FLAGS | nl.ECHO, Route(dst=N("10.1.0.0/16"), oif=dummy0))
    kinds = [m.kind for m in out]
    assert kinds == ["route", "ack"]
    assert out[0].route.dst == N("10.1.0.0/16") and out[0].route.created
    w.close()


# ---- permissions ----------------------------------------------------------------

def unprivileged_session(dummy0):
    sub = Wire(groups=nl.GROUP_ROUTE)
    w = Wire()
    lines = []
    err, text, _ = error_of(w.route(nl.NEWROUTE, nl.ADD_FLAGS, Route(dst=N("10.66.0.0/16"), oif=dummy0)))
    lines.append(f"add {errno.errorcode[err]} {text}")
    err, _, _ = error_of(w.exchange(nl.build_flush(w.next_seq(), None)))
    lines.append(f"flush {errno.errorcode[err]}")
    lines.append(f"dump {len(w.routes())}")
    lines.append(f"stats {w.stats().routes4}")
    # the parent adds a route once this child has subscribed: tell it through a file
    open("/tmp/rtmgr-unpriv-ready", "w").close()
    lines.append(f"notified {len(sub.messages(60))}")
    return "\n".join(lines)


def test_unprivileged_reads_and_listens_but_cannot_change(dummy0):
    w = Wire()
    w.add(Route(dst=N("10.1.0.0/16"), oif=dummy0))
    if os.path.exists("/tmp/rtmgr-unpriv-ready"):
        os.unlink("/tmp/rtmgr-unpriv-ready")
    os.chmod("/tmp", 0o1777)
    pid = os.fork()
    if pid == 0:  # a second child, privileged: adds a route once the listener is ready
        try:
            for _ in range(600):
                if os.path.exists("/tmp/rtmgr-unpriv-ready"):
                    break
                time.sleep(0.1)
            Wire().add(Route(dst=N("10.2.0.0/16"), oif=dummy0))
        finally:
            os._exit(0)
    out = as_nobody(unprivileged_session, dummy0)
    os.waitpid(pid, 0)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["add"].startswith("EPERM") and "CAP_NET_ADMIN" in lines["add"]
    assert lines["flush"] == "EPERM"
    assert lines["dump"] == "1" and lines["stats"] == "1"
    assert lines["notified"] == "1"
    assert len(w.routes()) == 2
    w.close()


def opened_as_root_then_dropped(w, dummy0):
    return str(error_of(w.add(Route(dst=N("10.77.0.0/16"), oif=dummy0)))[0])


def test_a_privileged_socket_used_without_privilege_is_refused(dummy0):
    # netlink_net_capable: the sender's capability counts...
    w = Wire()
    assert as_nobody(opened_as_root_then_dropped, w, dummy0) == str(errno.EPERM)
    w.close()
    assert Wire().routes() == []


def open_and_pass(chan):
    w = Wire()
    socket.send_fds(chan, [b"x"], [w.sock.fileno()])
    return "sent"


def test_an_unprivileged_socket_passed_to_root_is_refused(dummy0):
    # ...and so does the opener's: a socket opened without CAP_NET_ADMIN
    # stays powerless in a privileged process (no confused deputy)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    assert as_nobody(open_and_pass, child) == "sent"
    _, (fd,), _, _ = socket.recv_fds(parent, 1, 1)
    s = socket.socket(fileno=fd)
    s.send(nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, 7, Route(dst=N("10.78.0.0/16"), oif=dummy0)))
    (reply,) = nl.parse(s.recv(65536))
    assert reply.kind == "error" and reply.error == errno.EPERM
    s.close()
    parent.close()
    child.close()
    assert Wire().routes() == []


# ---- namespaces -----------------------------------------------------------------

NS_FILL = """
import ipaddress as ip
from rtshell import netlink as nl
from rtshell.model import Route, RouteType
from wire import Wire
w = Wire()
for i in range(200):
    w.add(Route(dst=ip.ip_network(f"10.{i}.0.0/16"), type=RouteType.BLACKHOLE))
print(len(w.routes()))
"""


def test_namespaces_are_isolated_and_freed(wire, dummy0):
    wire.add(Route(dst=N("10.250.0.0/16"), oif=dummy0))
    sh("ip", "netns", "add", "rtmgr-a")
    sh("ip", "netns", "add", "rtmgr-b")
    try:
        assert py(NS_FILL, netns="rtmgr-a").strip() == "200"
        assert py("from wire import Wire; print(len(Wire().routes()))", netns="rtmgr-b").strip() == "0"
        assert [r.dst for r in wire.routes()] == [N("10.250.0.0/16")]
        # a device index of this namespace means nothing in another one
        code = f"""
        import ipaddress as ip
        from rtshell.model import Route
        from wire import Wire, error_of
        print(error_of(Wire().add(Route(dst=ip.ip_network("10.1.0.0/16"), oif={dummy0})))[0])
        """
        assert py(code, netns="rtmgr-b").strip() == str(errno.ENODEV)
    finally:
        sh("ip", "netns", "del", "rtmgr-a")
        sh("ip", "netns", "del", "rtmgr-b")
    # the namespace's 200 routes are freed with it; the unload test and the
    # final rmmod (kmem_cache_destroy) report any object left behind


# ---- devices --------------------------------------------------------------------


def test_routes_go_with_their_device(wire, dummy0):
    sh("ip", "link", "add", "rtmgr-d2", "type", "dummy")
    try:
        idx = int(open("/sys/class/net/rtmgr-d2/ifindex").read())
        wire.add(Route(dst=N("10.1.0.0/16"), oif=idx))
        wire.add(Route(dst=N("2001:db8:5::/48"), oif=idx))
        wire.add(Route(dst=N("10.2.0.0/16"), nexthops=(NextHop(A("10.99.0.2"), dummy0, 1), NextHop(None, idx, 3))))
        wire.add(Route(dst=N("10.3.0.0/16"), oif=dummy0))
        sub = Wire(groups=nl.GROUP_ROUTE)
    finally:
        sh("ip", "link", "del", "rtmgr-d2")
    got = {(m.type, str(m.route.dst), m.pid, m.seq) for m in events(sub)}
    assert got == {
        (nl.DELROUTE, "10.1.0.0/16", 0, 0),
        (nl.DELROUTE, "2001:db8:5::/48", 0, 0),
        (nl.NEWROUTE, "10.2.0.0/16", 0, 0),
    }
    sub.close()
    table = {r.dst: r for r in wire.routes()}
    assert set(table) == {N("10.2.0.0/16"), N("10.3.0.0/16")}
    assert table[N("10.2.0.0/16")].all_nexthops() == (NextHop(A("10.99.0.2"), dummy0, 1),)


def test_device_moved_to_another_namespace_takes_its_routes(wire):
    sh("ip", "link", "add", "rtmgr-d3", "type", "dummy")
    sh("ip", "netns", "add", "rtmgr-c")
    try:
        idx = int(open("/sys/class/net/rtmgr-d3/ifindex").read())
        wire.add(Route(dst=N("10.1.0.0/16"), oif=idx))
        sh("ip", "link", "set", "rtmgr-d3", "netns", "rtmgr-c")
        assert wire.routes() == []
    finally:
        sh("ip", "netns", "del", "rtmgr-c")


# ---- the module's life ------------------------------------------------------------


def rmmod():
    gc.collect()  # sockets of finished tests hold module references until collected
    return subprocess.run(["rmmod", "rtmgr"], capture_output=True, text=True)


def insmod():
    sh("insmod", os.environ["RTMGR_KO"])


@pytest.mark.skipif("RTMGR_KO" not in os.environ, reason="needs the module file (run by scripts/vm-guest)")
def test_unload_refused_mid_dump_and_clean_after_close(dummy0):
    w = Wire()
    send_all(w.sock, add_requests(0x0A000000, 20000, dummy0))
    w.sock.send(nl.build_dump(w.next_seq(), None))
    assert w.sock.recv(10)  # the dump is under way, with more to come
    assert rmmod().returncode != 0, "a socket (mid-dump) holds the module"
    w.close()
    assert rmmod().returncode == 0
    insmod()


@pytest.mark.skipif("RTMGR_KO" not in os.environ, reason="needs the module file (run by scripts/vm-guest)")
def test_repeated_load_fill_unload(dummy0):
    for rnd in range(3):
        assert rmmod().returncode == 0
        insmod()
        w = Wire()
        send_all(w.sock, add_requests(0x0A000000 + rnd, 30000, dummy0, plen=32, step=256))
        for i in range(100):
            w.add(Route(dst=N(f"2001:db8:{i:x}::/48"), oif=dummy0, table=10 + i % 3))
        sh("ip", "netns", "add", "rtmgr-life")
        py(NS_FILL, netns="rtmgr-life")
        s = w.stats()
        assert (s.routes4, s.routes6) == (30000, 100)
        w.close()
        sh("ip", "netns", "del", "rtmgr-life")
    # the last unload destroys the caches: any object left would be reported
    assert rmmod().returncode == 0
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    assert "Objects remaining" not in out
    insmod()
