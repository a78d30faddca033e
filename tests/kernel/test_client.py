"""Kernel tier: rtshell.client against the real rtmgr module (inside the VM).

Runs as root in a guest where rtmgr is loaded and dummy0 (10.99.0.1/24,
2001:db8:ffff::1/64) and dummy1 (10.98.0.1/24) exist.  Every test works in
its own tables (TABLE, TABLE2) and flushes them before and after.
Emulation is slow: waits are generous, sizes moderate.
"""

from __future__ import annotations

import _thread
import errno
import json
import socket
import threading
import time
from ipaddress import ip_address, ip_network

import pytest

from rtshell import client as C
from rtshell import errors
from rtshell import netlink as nl
from rtshell.model import Event, Filter, LookupResult, Match, NextHop, Route, RouteType, Stats, sort_key

from nobody import as_nobody
from routes import GW, GW2, TABLE, TABLE2, TIMEOUT, needs_module, r4, r6

pytestmark = needs_module


def ifindex(name: str) -> int:
    return socket.if_nametoindex(name)


def table_of(client: C.Client, table: int = TABLE) -> dict:
    return {r.key: r for r in client.dump(Filter(table=table), consistent=True)}


def wait_for(cond, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def client():
    c = C.Client(timeout=TIMEOUT)
    for t in (TABLE, TABLE2):
        c.flush(Filter(table=t))
    yield c
    try:
        for t in (TABLE, TABLE2):
            c.flush(Filter(table=t))
    finally:
        c.close()


# ---- every call ------------------------------------------------------------------


def test_add_get_replace_change_append_delete(client):
    r = r4(1)
    created = client.add(r, echo=True)
    assert created == r and created.created is not None
    assert client.get(r.dst, TABLE) == r

    with pytest.raises(errors.RouteExists) as info:
        client.add(r)
    assert info.value.errno == errno.EEXIST
    assert info.value.request == f"route add 10.0.1.0/24 via {GW} table {TABLE}"

    client.replace(r4(1, gw=GW2))
    assert client.get(r.dst, TABLE).gateway == GW2
    client.change(r4(1))
    assert client.get(r.dst, TABLE).gateway == GW
    with pytest.raises(errors.RouteNotFound):
        client.change(r4(2))
    with pytest.raises(errors.RouteNotFound):  # the metric is part of the key
        client.change(r4(1, metric=7))
    client.add(r4(1, gw=GW2, metric=7))  # a backup route of the same prefix
    assert [(x.gateway, x.metric) for x in client.dump(Filter(table=TABLE))] == [(GW, 0), (GW2, 7)]
    assert client.get(r.dst, TABLE).metric == 0 and client.get(r.dst, TABLE, metric=7).gateway == GW2
    assert client.lookup(ip_address("10.0.1.9"), TABLE).metric == 0
    client.delete(Route(dst=r.dst, table=TABLE, metric=7, type=RouteType.UNSPEC))

    client.append(Route(dst=r.dst, table=TABLE, gateway=GW2))
    hops = client.get(r.dst, TABLE).all_nexthops()
    assert {h.gateway for h in hops} == {GW, GW2}

    with pytest.raises(errors.NoSuchRoute):  # the gateway must match
        client.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC,
                            gateway=ip_address("10.99.0.77")))
    gone = client.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC), echo=True)
    assert gone is not None and gone.dst == r.dst
    with pytest.raises(errors.RouteNotFound) as info:
        client.get(r.dst, TABLE)
    assert info.value.request == f"route get 10.0.1.0/24 table {TABLE}"


def test_route_kinds_and_ipv6(client):
    idx = ifindex("dummy0")
    routes = [
        Route(dst=ip_network("10.7.0.0/16"), table=TABLE, type=RouteType.BLACKHOLE),
        Route(dst=ip_network("10.8.0.0/16"), table=TABLE, oif=idx, metric=5, proto=4),
        Route(dst=ip_network("10.9.0.0/16"), table=TABLE,
              nexthops=(NextHop(GW, idx, 3), NextHop(GW2, ifindex("dummy1"), 1))),
        r6(1),
    ]
    for r in routes:
        client.add(r)
    assert sorted(table_of(client).values(), key=sort_key) == sorted(routes, key=sort_key)


def test_kernel_refusal_carries_ext_ack(client):
    with pytest.raises(errors.NoSuchDevice) as info:
        client.add(Route(dst=ip_network("10.5.0.0/16"), table=TABLE, oif=999999))
    exc = info.value
    assert exc.errno == errno.ENODEV
    assert exc.ext_ack  # the kernel said which device
    assert exc.request.startswith("route add 10.5.0.0/16 dev")
    with pytest.raises(errors.InvalidRequest) as info:
        client.add(Route(dst=ip_network("10.5.0.0/16"), table=TABLE, gateway=ip_address("224.0.0.1")))
    assert "multicast" in (info.value.ext_ack or "")


def test_lookup_and_lookup_many(client):
    client.add(Route(dst=ip_network("10.1.0.0/16"), table=TABLE, gateway=GW))
    client.add(Route(dst=ip_network("10.1.2.0/24"), table=TABLE, gateway=GW2))
    client.add(r6(5))
    assert client.lookup("10.1.2.3", TABLE).dst == ip_network("10.1.2.0/24")
    assert client.lookup("10.1.9.9", TABLE).dst == ip_network("10.1.0.0/16")
    with pytest.raises(errors.NoRoute):
        client.lookup("192.0.2.1", TABLE)

    # more than RTMGR_MAX_LOOKUP_ADDRS, both families interleaved
    addrs = []
    for i in range(4500):
        addrs.append(ip_address(f"10.1.{i % 4}.{i % 250 + 1}") if i % 3 else
                     ip_address(f"2001:db8:{5 if i % 2 else 6:x}::{i:x}"))
    res = client.lookup_many(addrs, TABLE)
    assert len(res) == 4500 and all(isinstance(x, LookupResult) for x in res)
    assert [x.addr for x in res] == addrs
    for a, x in zip(addrs, res):
        if a.version == 6:
            assert (x.route is not None) == (a in ip_network("2001:db8:5::/48"))
        else:
            want = "10.1.2.0/24" if a in ip_network("10.1.2.0/24") else "10.1.0.0/16"
            assert x.route is not None and str(x.route.dst) == want


def test_dump_filters_order_and_flush(client):
    for i in range(50):
        client.add(r4(i, metric=i % 3))
    for i in range(10):
        client.add(r6(i))
    client.add(r4(1, table=TABLE2))

    routes = list(client.dump(Filter(table=TABLE)))
    assert len(routes) == 60
    assert [sort_key(r) for r in routes] == sorted(sort_key(r) for r in routes)
    assert len(list(client.dump(Filter(table=TABLE, family=6)))) == 10
    assert len(list(client.dump(Filter(table=TABLE, metric=1)))) == 17
    assert len(list(client.dump(Filter(table=TABLE, family=4, prefix=ip_network("10.0.0.0/16"),
                                       match=Match.ROOT)))) == 50

    before = client.stats()
    assert isinstance(before, Stats)
    assert client.flush(Filter(table=TABLE, family=6)) == 10
    assert client.flush(Filter(table=TABLE)) == 50
    after = client.stats()
    assert after.routes6 == before.routes6 - 10
    assert after.routes4 == before.routes4 - 50
    assert after.generation > before.generation
    assert len(table_of(client, TABLE2)) == 1


def test_subscribe_monitor_and_trace(client):
    events: list[Event] = []
    sub = client.subscribe(events.append, Filter(table=TABLE))
    seen = []
    client.trace = lambda direction, data: seen.append(direction)
    mon = client.monitor(Filter(table=TABLE))
    guard = threading.Timer(TIMEOUT, mon.close)  # a missing event fails, never hangs
    guard.start()
    try:
        client.add(r4(3))
        client.add(r4(4, table=TABLE2))  # filtered out
        client.delete(Route(dst=r4(3).dst, table=TABLE, type=RouteType.UNSPEC))
        client.add(r4(5))
        assert client.flush(Filter(table=TABLE)) == 1
        first = next(mon)
        assert (first.kind, first.route, first.pid) == ("new", r4(3), client.portid)
        wait_for(lambda: len(events) >= 4, what="4 events")
        assert [e.kind for e in events[:4]] == ["new", "del", "new", "flush"]
        assert events[3].count == 1
        assert all(e.pid == client.portid and e.seq for e in events[:4])
    finally:
        guard.cancel()
        mon.close()
        sub.close()
        client.trace = None
    assert "send" in seen and "recv" in seen


# ---- batches -----------------------------------------------------------------------


def test_batch_of_1000_with_one_invalid(client):
    sends = []
    client.trace = lambda direction, data: sends.append(len(data)) if direction == "send" else None
    with pytest.raises(C.BatchError) as info:
        with client.batch() as b:
            for i in range(1000):
                b.add(Route(dst=r4(i).dst, table=TABLE, oif=999999) if i == 500 else r4(i))
    client.trace = None
    exc = info.value
    assert len(exc.failures) == 1
    index, err = exc.failures[0]
    assert index == 500 and isinstance(err, errors.NoSuchDevice)
    assert b.results[500] is err and sum(x is not None for x in b.results) == 1
    assert "#500" in str(exc)
    table = table_of(client)
    assert len(table) == 999 and r4(500).key not in table
    assert len(sends) <= 6, sends  # packed: a handful of sendmsg calls


def test_batch_is_answered_by_its_errors_and_one_ack_per_sendmsg(client):
    """Requests go without NLM_F_ACK but the last of each buffer: the module
    answers the failures, in order, and that last one; nothing else."""
    n = 3000
    taken = list(range(0, n, 7))
    with client.batch() as b:
        for i in taken:
            b.add(r4(i))
    sent, received = [], []
    client.trace = lambda d, data: (sent if d == "send" else received).append(data)
    with client.batch(raise_on_error=False) as b:
        for i in range(n):
            b.add(r4(i))
    client.trace = None
    assert [i for i, e in enumerate(b.results) if e is not None] == taken
    for i in taken:
        err = b.results[i]
        assert isinstance(err, errors.RouteExists) and err.ext_ack
        assert err.request.startswith(f"route add {r4(i).dst} via {GW}")
    requests = [m for data in sent for m in nl.parse(data)]
    assert len(requests) == n and len(sent) >= 3
    lasts = {m.seq for m in requests if m.flags & nl.lib.NLM_F_ACK}
    assert lasts == {nl.parse(data)[-1].seq for data in sent}  # one per sendmsg, the last
    answers = [m for data in received for m in nl.parse(data)]
    acks = {m.seq for m in answers if m.kind == "ack"}
    refused = [m.seq for m in answers if m.kind == "error"]
    assert len(answers) == len(acks) + len(refused)
    assert acks <= lasts and len(refused) == len(taken)
    assert acks | (set(refused) & lasts) == lasts  # every buffer's last was answered once
    assert len(table_of(client)) == n
    assert client.pending == 0


def test_atomic_batch_undoes_on_failure(client):
    keep, gone = r4(1), r4(3)
    client.add(keep)
    client.add(gone)
    client.add(r4(9))
    before = table_of(client)
    with pytest.raises(C.BatchError) as info:
        with client.batch(atomic=True) as b:
            b.replace(r4(1, gw=GW2))  # restored afterwards
            b.add(r4(2))  # deleted afterwards
            b.delete(Route(dst=gone.dst, table=TABLE, type=RouteType.UNSPEC))  # re-added
            b.add(r4(9))  # EEXIST: the whole batch is undone
            b.add(r4(10))  # applied, then deleted
    exc = info.value
    assert [i for i, _ in exc.failures] == [3]
    assert table_of(client) == before
    assert len(exc.undone) == 4 and not exc.undo_failures
    assert client.get(keep.dst, TABLE).gateway == GW


def test_batch_flush_and_no_raise(client):
    for i in range(20):
        client.add(r4(i))
    with client.batch(raise_on_error=False) as b:
        b.flush(Filter(table=TABLE))
        b.add(r4(1))
        b.delete(Route(dst=r4(7).dst, table=TABLE, type=RouteType.UNSPEC))  # ESRCH: flushed
    assert b.results[:2] == [None, None]
    assert isinstance(b.results[2], errors.NoSuchRoute)
    assert list(table_of(client)) == [r4(1).key]


# ---- sharing, interrupting, overrunning -----------------------------------------


def test_many_threads_share_one_client(client):
    problems = []

    def writer(t):
        try:
            for i in range(30):
                r = r4(t * 100 + i)
                client.add(r)
                assert client.get(r.dst, TABLE) == r
                assert client.lookup(str(r.dst.network_address + 1), TABLE) == r
                if i % 2:
                    client.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC))
        except Exception as exc:
            problems.append(exc)

    def reader():
        try:
            for _ in range(5):
                keys = [sort_key(r) for r in client.dump(Filter(table=TABLE))]
                assert keys == sorted(set(keys))
                client.stats()
        except Exception as exc:
            problems.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not problems, problems
    assert len(table_of(client)) == 6 * 15


def test_a_dump_paused_past_the_timeout_goes_on_and_blocks_nothing(client):
    """A reader in a pager: the dump waits on its own socket, the module makes
    no more of it until it is read, and requests of the same client go on."""
    with client.batch() as b:
        for i in range(3000):
            b.add(r4(i))
    slow = C.Client(timeout=3.0)
    try:
        it = slow.dump(Filter(table=TABLE))
        first = next(it)
        deadline = time.monotonic() + 2 * slow.timeout + 1
        while time.monotonic() < deadline:  # requests go on while the dump waits
            assert slow.get(r4(2000).dst, TABLE) == r4(2000)
            time.sleep(0.5)
        assert len(list(slow.dump(Filter(table=TABLE)))) == 3000  # a second dump too
        rest = list(it)
    finally:
        slow.close()
    assert [first] + rest == sorted(table_of(client).values(), key=sort_key)


def test_abandoned_dump_then_reuse(client):
    with client.batch() as b:
        for i in range(3000):
            b.add(r4(i))
    it = client.dump(Filter(table=TABLE))
    assert len([next(it) for _ in range(10)]) == 10
    it.close()  # abandon mid-dump
    assert client.get(r4(2000).dst, TABLE) == r4(2000)
    assert len(list(client.dump(Filter(table=TABLE)))) == 3000

    # Ctrl-C while iterating, at whatever point it lands
    timer = threading.Timer(0.3, _thread.interrupt_main)
    got = 0
    with pytest.raises(KeyboardInterrupt):
        timer.start()
        for _ in client.dump(Filter(table=TABLE)):
            got += 1
            time.sleep(0.002)
        time.sleep(60)  # the dump ended first: wait for the interrupt
    timer.cancel()
    assert client.lookup("10.0.5.1", TABLE) == r4(5)
    assert len(list(client.dump(Filter(table=TABLE)))) == 3000


def test_dump_during_changes_is_consistent(client):
    stable = [r4(i) for i in range(0, 1200, 2)]
    with client.batch() as b:
        for r in stable:
            b.add(r)
    stop = threading.Event()

    def churn():
        with C.Client(timeout=TIMEOUT) as w:
            i = 0
            while not stop.is_set():
                r = r4(1 + 2 * (i % 600))  # odd routes come and go between the stable ones
                try:
                    w.add(r)
                    w.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC))
                except errors.RtmgrError:
                    pass
                i += 1

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(3):
            try:
                got = list(client.dump(Filter(table=TABLE)))
            except C.DumpInterrupted:
                continue  # allowed: the table changed under every attempt
            keys = [sort_key(r) for r in got]
            assert keys == sorted(set(keys))  # in order, never twice
            assert set(stable) <= set(got)  # nothing that stayed is missing
    finally:
        stop.set()
        t.join(60)


def test_dump_interrupted_by_a_change_restarts(client):
    n = 3000
    with client.batch() as b:
        for i in range(n):
            b.add(r4(i))
    late, gone = r4(n + 5), r4(n - 1)  # both sort after the first buffers
    # an 8 KiB receive buffer makes the kernel fill small dump buffers
    # (~100 routes): backpressure holds it at most ~11 buffers ahead of the
    # consumer, so most of the dump is made after the change below
    small = C.Client(timeout=TIMEOUT,
                     _socket_factory=lambda **kw: nl.NetlinkSocket(bufsize=8192, **kw))
    try:
        it = small.dump(Filter(table=TABLE))
        first = next(it)
        client.add(late)
        client.delete(Route(dst=gone.dst, table=TABLE, type=RouteType.UNSPEC))
        got = [first] + list(it)
        assert small.dump_restarts == 1  # NLM_F_DUMP_INTR seen, dump restarted
    finally:
        small.close()
    keys = [sort_key(r) for r in got]
    assert keys == sorted(set(keys))
    assert late in got and gone not in got and len(got) == n


def test_notification_overrun_then_resync_equals_dump(client):
    c = C.Client(timeout=TIMEOUT, notify_rcvbuf=1)  # the kernel's minimum
    try:
        for i in range(100):
            c.add(r4(i))
        view: dict = {}
        kinds: list[str] = []
        slow = threading.Event()
        slow.set()

        def on_event(ev: Event):
            kinds.append(ev.kind)
            ev.apply_to(view)
            if slow.is_set():
                time.sleep(0.05)  # a slow subscriber at first: the socket overruns

        sub = c.subscribe(on_event, Filter(table=TABLE), resync=True)
        with c.batch() as b:
            for i in range(100, 2000):
                b.add(r4(i))
            for i in range(0, 50):
                b.delete(Route(dst=r4(i).dst, table=TABLE, type=RouteType.UNSPEC))
            for i in range(50, 80):
                b.replace(r4(i, gw=GW2))
        slow.clear()
        marker = r4(4000)
        c.add(marker)
        wait_for(lambda: marker.key in view, what="the marker route")
        quiet = -1
        while quiet != len(kinds):  # until no event comes for a while
            quiet = len(kinds)
            time.sleep(2.0)
        assert kinds[0] == "resync"  # the initial table
        assert c.resyncs >= 1 and kinds.count("resync") >= 2
        assert view == table_of(c)
        sub.close()
    finally:
        c.close()


def test_unprivileged_gets_eperm_and_may_read(client):
    client.add(r4(1))

    def session() -> str:  # no root, so no CAP_NET_ADMIN
        out = {}
        with C.Client(timeout=TIMEOUT) as c:
            try:
                c.add(r4(2))
                out["add"] = "applied"
            except errors.RtmgrError as exc:
                out["add"] = [type(exc).__name__, exc.errno, exc.request]
            try:
                with c.batch() as b:  # refused one by one, not only the last
                    for i in range(3, 53):
                        b.add(r4(i))
                out["batch"] = "applied"
            except C.BatchError as exc:
                out["batch"] = [[i for i, _ in exc.failures],
                                sorted({type(e).__name__ for _, e in exc.failures})]
            out["get"] = str(c.get(r4(1).dst, TABLE).dst)
            out["dump"] = len(list(c.dump(Filter(table=TABLE))))
        return json.dumps(out)

    out = json.loads(as_nobody(session))
    assert out["add"][:2] == ["NotPermitted", errno.EPERM]
    assert out["add"][2].startswith("route add 10.0.2.0/24")
    assert out["batch"] == [list(range(50)), ["NotPermitted"]]
    assert out["get"] == "10.0.1.0/24" and out["dump"] == 1
    assert list(table_of(client)) == [r4(1).key]


def test_close_is_idempotent_and_final():
    c = C.Client(timeout=TIMEOUT)
    c.subscribe(lambda e: None)
    threads = [c._sender, c._receiver, c._notifier]
    c.stats()
    c.close()
    c.close()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(errors.RtmgrError) as info:
        c.stats()
    assert info.value.errno == errno.ESHUTDOWN
    with C.Client(timeout=TIMEOUT) as c2:
        assert c2.stats().max_routes > 0
