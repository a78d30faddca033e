"""Host tier: the threaded client's own logic, against an in-process fake of rtmgr.

What is tested here is rtshell/client.py alone: sequence matching, timeouts,
streaming and backpressure, abandoned and interrupted dumps, batches and
their undo, notification overrun and resync, overrun of the request
socket.  The fake kernel (fake_kernel.py) speaks real netlink bytes; the
real module is exercised by tests/kernel/.
"""

from __future__ import annotations

import collections
import errno
import threading
import time
from ipaddress import ip_address, ip_network

import pytest

from fake_kernel import FakeKernel, FakeSocket, fill, net, route, sent_flags
from rtshell import client as C
from rtshell import errors, netlink as nl
from rtshell import protocol as P
from rtshell.model import Event, Filter, Match, Route, RouteType, sort_key
from rtshell.names import IndexNames
from rtshell.words import request_text


@pytest.fixture
def kernel():
    return FakeKernel()


@pytest.fixture
def client(kernel):
    c = C.Client(timeout=2.0, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    yield c
    c.close()


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
    assert exc.request == "route add 10.0.7.0/24 via 10.99.0.2 table main"
    with pytest.raises(errors.RouteNotFound):
        client.get(ip_network("10.9.9.0/24"))
    with pytest.raises(errors.NoSuchRoute) as info:
        client.delete(route(99))
    assert info.value.request.startswith("route delete 10.0.99.0/24")


def test_timeout_then_late_answer_is_dropped(client, kernel):
    fill(kernel, 2)
    kernel.hold = []
    client.timeout = 0.3
    t0 = time.monotonic()
    with pytest.raises(errors.Timeout) as info:
        client.get(net(0))
    assert 0.25 < time.monotonic() - t0 < 2
    assert "route get 10.0.0.0/24 table main" == info.value.request
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


def test_dump_streams_at_the_consumers_pace(client, kernel):
    routes = fill(kernel, 200)  # 50 buffers of 4
    it = client.dump()
    first = next(it)
    assert first == routes[0]
    time.sleep(0.5)  # the consumer pauses: nothing reads its socket meanwhile
    assert kernel.chunks_made <= kernel.read_ahead + 2
    rest = list(it)
    assert [first] + rest == sorted(routes, key=sort_key)
    assert kernel.chunks_made == 51  # 50 buffers and the DONE


def test_abandoned_dump_leaves_client_usable(client, kernel):
    routes = fill(kernel, 100)
    before = len(kernel.sockets)
    it = client.dump()
    next(it)
    assert len(kernel.sockets) == before + 1  # the dump's own socket
    it.close()  # the consumer walks away mid-dump: its socket is closed
    assert len(kernel.sockets) == before
    assert client.get(routes[5].dst) == routes[5]
    assert list(client.dump()) == sorted(routes, key=sort_key)
    assert len(kernel.sockets) == before


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


def test_a_dump_loop_may_look_up_and_dump_again_in_its_own_thread(client, kernel):
    fill(kernel, 100)
    it = client.dump()
    next(it)
    # each dump reads a socket of its own: nothing waits for the open one
    assert client.lookup_many(["10.0.1.1"])[0].route == route(1)
    assert len(list(client.dump())) == 100
    assert len(list(it)) == 99


def test_a_dump_consumer_may_pause_longer_than_the_timeout(client, kernel):
    routes = fill(kernel, 200)
    client.timeout = 0.4
    it = client.dump()
    first = next(it)
    time.sleep(1.2)  # a reader in a pager: three timeouts without taking anything
    assert client.get(net(3)) == route(3)  # other requests went on meanwhile
    assert [first] + list(it) == sorted(routes, key=sort_key)


def test_a_dump_the_kernel_stops_answering_times_out(client, kernel):
    fill(kernel, 200)
    client.timeout = 0.4
    it = client.dump()
    next(it)
    stuck = [s for s in kernel.sockets if s.dump is not None]
    assert len(stuck) == 1
    stuck[0].q.clear()
    stuck[0].dump = None  # the kernel makes no more of it
    t0 = time.monotonic()
    with pytest.raises(errors.Timeout) as info:
        list(it)
    assert 0.35 < time.monotonic() - t0 < 2
    assert "no dump data for 0.4 s" in str(info.value)
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


def test_batch_asks_one_ack_per_sendmsg(kernel):
    c = C.Client(timeout=2.0, rcvbuf=64 << 10, _socket_factory=lambda **kw: FakeSocket(kernel, **kw))
    try:
        with c.batch() as b:
            for i in range(300):
                b.add(route(i))
        sends = sent_flags(kernel.sockets[0])
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
        want = [f"route add {route(i).dst} via 10.99.0.2 table main" for i in range(200)]
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
    assert b.results[2].request == f"route add {net(2)} via 10.99.0.2 table main"
    kernel.silent = False
    client.timeout = 2.0
    client.add(route(9))  # still usable; the late nothing never comes
    assert client._core.inflight == 0


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
    with client.monitor(Filter(prefix=ip_network("10.0.0.0/16"), match=Match.ROOT)) as mon:
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
            ev.apply_to(view)
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


def test_device_names_in_error_texts_are_reused_briefly():
    calls = []
    known = {2: "dummy0"}

    def lookup(i):
        calls.append(i)
        if i not in known:
            raise OSError(errno.ENXIO, "No such device or address")
        return known[i]

    clock = [1000.0]
    names = IndexNames(ttl=1.0, lookup=lookup, clock=lambda: clock[0])
    r = Route(dst=net(1), oif=2)
    assert [request_text("add", r, names) for _ in range(100)] == [f"route add {net(1)} dev dummy0 table main"] * 100
    assert calls == [2]
    known[2] = "uplink"  # renamed: seen once the name is older than the ttl
    clock[0] += 1.0
    assert request_text("add", r, names) == f"route add {net(1)} dev uplink table main" and calls == [2, 2]
    assert names.name(7) == "if7"  # no device has that index
