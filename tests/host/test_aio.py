"""Host tier: rtshell.aio, the asyncio client, against the fake kernel (fake_kernel.py).

Each test body is a coroutine run on a fresh event loop, the client's
sockets registered with it.  Nothing waits on the clock to let something
happen: a test that needs the loop to have moved waits for the condition it
expects (``until``), or, to show that something does *not* happen (the
back-pressure checks), lets the loop run a fixed number of turns.  The only
clock waits are the timeouts under test.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import time
from ipaddress import ip_address, ip_network

import pytest

import rtshell.aio
from fake_kernel import FakeKernel, FakeSocket, fill, net, route, sent_flags
from rtshell import client as C
from rtshell import errors
from rtshell import protocol as P
from rtshell.model import Event, Filter, Match, Route, RouteType, sort_key


def aio(test):
    """Run an ``async def`` test on a fresh event loop (a hang fails after 60 s)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(test(*args, **kwargs), 60))
    return run


def connect(kernel, **kw) -> rtshell.aio.Client:
    kw.setdefault("timeout", 2.0)
    return rtshell.aio.Client(_socket_factory=lambda **skw: FakeSocket(kernel, **skw), **kw)


async def turns(n: int = 50) -> None:
    """Let the event loop run ``n`` times (every ready callback runs in each)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def until(cond, what: str = "the condition", limit: int = 10_000) -> None:
    for _ in range(limit):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{what} did not happen in {limit} turns of the loop")


@pytest.fixture
def kernel():
    return FakeKernel()


# ---- requests --------------------------------------------------------------------


@aio
async def test_every_change_verb_get_and_echo(kernel):
    async with connect(kernel) as c:
        r = route(1)
        assert await c.add(r) is None
        assert kernel.table[r.key] == r
        assert await c.get(r.dst) == r
        assert await c.get(str(r.dst)) == r  # text is taken too
        assert await c.replace(route(1, gw="10.99.0.3"), echo=True) == route(1, gw="10.99.0.3")
        assert await c.change(route(1, gw="10.99.0.4"), echo=True) == route(1, gw="10.99.0.4")
        assert await c.append(route(2), echo=True) == route(2)
        gone = await c.delete(Route(dst=r.dst, type=RouteType.UNSPEC), echo=True)
        assert gone.dst == r.dst and r.key not in kernel.table
        assert await c.delete(Filter()) == 1  # a Filter: flush
        assert not kernel.table and c.pending == 0


@aio
async def test_errors_carry_the_class_errno_kernel_text_and_request(kernel):
    async with connect(kernel) as c:
        await c.add(route(7))
        with pytest.raises(errors.RouteExists) as info:
            await c.add(Route(dst=ip_network("10.0.7.0/24"), gateway=ip_address("10.99.0.2")))
        exc = info.value
        assert (exc.errno, exc.ext_ack) == (errno.EEXIST, "route exists")
        assert exc.request == "route add 10.0.7.0/24 via 10.99.0.2 table main"
        assert isinstance(exc, FileExistsError)
        with pytest.raises(errors.RouteNotFound) as info:
            await c.change(route(8))
        assert info.value.ext_ack == "no such route"
        with pytest.raises(errors.RouteNotFound):
            await c.get(net(9))
        with pytest.raises(errors.NoSuchRoute) as info:
            await c.delete(route(99))
        assert info.value.request.startswith("route delete 10.0.99.0/24")
        with pytest.raises(errors.NoRoute):
            await c.lookup("192.0.2.1")
        with pytest.raises(errors.InvalidRequest):  # refused before anything is sent
            await c.add(Route(dst=net(3), gateway=ip_address("2001:db8::1")))
        with pytest.raises(errors.RtmgrError) as info:  # the fake has no GETSTATS
            await c.stats()
        assert (info.value.errno, info.value.ext_ack) == (errno.EOPNOTSUPP, "unknown message")
        assert await c.get(net(7)) == route(7)  # and the client goes on


@aio
async def test_lookup_and_lookup_many_in_order_and_chunked(kernel, monkeypatch):
    fill(kernel, 4)
    async with connect(kernel) as c:
        assert await c.lookup("10.0.2.9") == route(2)
        monkeypatch.setattr(P, "RTMGR_MAX_LOOKUP_ADDRS", 3)
        addrs = ["10.0.3.1", "2001:db8::1", "10.0.0.1", "192.0.2.1", "10.0.1.1", "10.0.2.1", "10.0.3.2"]
        res = await c.lookup_many(addrs)
        assert [str(r.addr) for r in res] == addrs
        assert [r.route for r in res] == [route(3), None, route(0), None, route(1), route(2), route(3)]


@aio
async def test_trace_sees_every_buffer(kernel):
    async with connect(kernel) as c:
        seen = []
        c.trace = lambda direction, data: seen.append(direction)
        await c.add(route(3))
        assert seen == ["send", "recv"]


@aio
async def test_concurrent_awaits_are_matched_by_sequence_number(kernel):
    rs = fill(kernel, 8)
    kernel.hold = []
    async with connect(kernel) as c:
        tasks = [asyncio.ensure_future(c.get(rs[i].dst)) for i in range(8)]
        await until(lambda: len(kernel.hold) == 8, "8 requests sent")
        assert c.pending == 8
        held, kernel.hold = kernel.hold, None
        for sock, data in reversed(held):  # the answers arrive in the reverse order
            sock.deliver(data)
        assert await asyncio.gather(*tasks) == rs
        assert c.pending == 0


@aio
async def test_timeout_then_the_late_answer_is_dropped(kernel):
    fill(kernel, 2)
    kernel.hold = []
    async with connect(kernel, timeout=0.3) as c:
        t0 = time.monotonic()
        with pytest.raises(errors.Timeout) as info:
            await c.get(net(0))
        assert 0.25 < time.monotonic() - t0 < 2
        assert info.value.request == "route get 10.0.0.0/24 table main"
        held, kernel.hold = kernel.hold, None
        dropped = c.dropped
        for sock, data in held:  # the late answer comes now
            sock.deliver(data)
        assert await c.get(net(1)) == route(1)
        assert c.dropped == dropped + 1 and c.pending == 0


@aio
async def test_a_cancelled_await_does_not_break_later_requests(kernel):
    fill(kernel, 3)
    kernel.hold = []
    async with connect(kernel) as c:
        task = asyncio.ensure_future(c.get(net(0)))
        await until(lambda: kernel.hold, "the request sent")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        held, kernel.hold = kernel.hold, None
        for sock, data in held:  # its answer comes after all
            sock.deliver(data)
        assert await c.get(net(1)) == route(1)
        assert await asyncio.gather(c.get(net(2)), c.get(net(0))) == [route(2), route(0)]
        assert c.dropped == 1 and c.pending == 0


@aio
async def test_an_answer_lost_to_an_overrun_fails_fast(kernel):
    fill(kernel, 3)
    kernel.hold = []
    async with connect(kernel, timeout=5.0) as c:
        first = asyncio.ensure_future(c.get(net(0)))
        await until(lambda: len(kernel.hold) == 1)
        second = asyncio.ensure_future(c.get(net(1)))
        await until(lambda: len(kernel.hold) == 2)
        held, kernel.hold = kernel.hold, None
        sock = held[0][0]
        sock.overrun = True  # the first answer is lost to an overrun
        await until(lambda: not sock.overrun, "the overrun read")
        t0 = time.monotonic()
        sock.deliver(held[1][1])  # the second arrives
        with pytest.raises(errors.Overrun) as info:
            await first
        assert "may or may not have been applied" in str(info.value)
        assert await second == route(1)
        assert time.monotonic() - t0 < 1


@aio
async def test_a_full_socket_holds_the_send_until_it_is_writable(kernel):
    class Full(FakeSocket):
        refusals = 1

        def send(self, data):
            if Full.refusals:
                Full.refusals -= 1
                raise errors.error_for(errno.EAGAIN, None, "send")
            return super().send(data)

    fill(kernel, 1)
    async with rtshell.aio.Client(timeout=2.0, _socket_factory=lambda **kw: Full(kernel, **kw)) as c:
        assert await c.get(net(0)) == route(0)
        assert Full.refusals == 0 and len(kernel.sockets[0].sends) == 1


# ---- dumps ---------------------------------------------------------------------------


@aio
async def test_a_dump_of_10000_routes_streams_with_back_pressure(kernel):
    routes = fill(kernel, 10_000)
    kernel.dump_chunk = 50  # 200 buffers and the DONE
    async with connect(kernel) as c:
        got = []
        async for r in c.dump():
            got.append(r)
            # the kernel fills a dump only as it is read: what it made is at
            # most what was consumed plus the stream's depth (and the buffer
            # being read)
            assert kernel.chunks_made <= len(got) // 50 + C.STREAM_DEPTH + 2
            if len(got) == 1:
                await turns(100)  # the consumer pauses: the client stops reading
                assert kernel.chunks_made <= C.STREAM_DEPTH + 2
        assert got == sorted(routes, key=sort_key)
        assert kernel.chunks_made == 201


@aio
async def test_a_request_made_while_a_dump_is_read_is_answered(kernel):
    routes = fill(kernel, 2000)
    kernel.read_ahead = 3  # the answer is queued behind dump buffers, as in the kernel
    async with connect(kernel) as c:
        got = []
        async for r in c.dump():
            got.append(r)
            if len(got) % 500 == 1:
                await turns(50)  # the stream fills up and the client stops reading ...
                assert len(kernel.sockets[0].q) == kernel.read_ahead
                assert await c.get(r.dst) == r  # ... but reads on for this answer
        assert got == sorted(routes, key=sort_key)


@aio
async def test_a_dump_left_midway_leaves_the_client_usable(kernel):
    routes = fill(kernel, 400)
    async with connect(kernel) as c:
        n = 0
        async for _ in c.dump():
            n += 1
            if n == 10:
                break  # abandoned: the rest is read and dropped
        assert await c.get(routes[5].dst) == routes[5]
        assert [r async for r in c.dump()] == sorted(routes, key=sort_key)
        assert c.dropped > 0

        async def consume():
            async for _ in c.dump():
                await asyncio.sleep(0)

        task = asyncio.ensure_future(consume())
        await until(lambda: kernel.dumps_started == 3, "the third dump started")
        await turns(5)
        task.cancel()  # cancelled mid-dump
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await c.lookup("10.0.5.1") == route(5)
        assert len([r async for r in c.dump()]) == 400 and c.pending == 0


@aio
async def test_an_interrupted_dump_restarts_without_duplicates(kernel):
    routes = fill(kernel, 40)
    extra = Route(dst=ip_network("10.0.0.0/25"), gateway=ip_address("10.99.0.2"))

    def churn(k, n):  # a route appears before the cursor in the middle of the first dump
        if k.dumps_started == 1 and n == 3:
            k.table[extra.key] = extra
            k.changed()

    kernel.on_chunk = churn
    async with connect(kernel) as c:
        got = [r async for r in c.dump()]
        keys = [sort_key(r) for r in got]
        assert keys == sorted(set(keys)) and set(routes) <= set(got)
        assert kernel.dumps_started == 2 and c.dump_restarts == 1

        kernel.dumps_started = 0
        kernel.on_chunk = churn
        snap = [r async for r in c.dump(consistent=True)]
        assert snap == sorted(kernel.table.values(), key=sort_key)

        def always(k, n):
            if n == 1:
                k.changed()

        kernel.on_chunk = always
        with pytest.raises(C.DumpInterrupted):
            [r async for r in c.dump()]
        kernel.on_chunk = None
        assert len([r async for r in c.dump(Filter(prefix=ip_network("10.0.0.0/16"),
                                                   match=Match.ROOT))]) == 41


@aio
async def test_one_dump_per_socket_refused_in_its_own_task_queued_in_others(kernel):
    fill(kernel, 100)
    async with connect(kernel) as c:
        it = c.dump()
        await it.__anext__()
        with pytest.raises(errors.RtmgrError) as info:
            await c.lookup_many(["10.0.1.1"])  # this task reads a dump: it would wait for itself
        assert info.value.errno == errno.EBUSY and "task" in info.value.detail
        other = asyncio.ensure_future(c.lookup_many(["10.0.1.1"]))  # another task waits its turn
        await turns(20)
        assert not other.done()
        rest = [r async for r in it]
        assert len(rest) == 99
        assert (await other)[0].route == route(1)


@aio
async def test_a_dump_the_kernel_never_answers_times_out(kernel):
    fill(kernel, 10)
    async with connect(kernel, timeout=0.3) as c:
        kernel.silent = True
        with pytest.raises(errors.Timeout) as info:
            [r async for r in c.dump()]
        assert "no dump data" in info.value.detail
        kernel.silent = False
        assert len([r async for r in c.dump()]) == 10


@aio
async def test_a_dump_consumer_that_stalls_loses_its_dump(kernel):
    fill(kernel, 200)
    async with connect(kernel, timeout=0.4) as c:
        it = c.dump()
        await it.__anext__()
        await asyncio.sleep(1.0)  # longer than timeout without taking anything
        assert await c.get(net(3)) == route(3)
        with pytest.raises(errors.Timeout) as info:
            [r async for r in it]
        assert "idle" in info.value.detail
        assert len([r async for r in c.dump()]) == 200


# ---- batches ---------------------------------------------------------------------------


@aio
async def test_a_batch_maps_its_one_failure_and_asks_one_ack_per_sendmsg(kernel):
    kernel.table[route(500).key] = route(500)
    async with connect(kernel) as c:
        with pytest.raises(C.BatchError) as info:
            async with c.batch() as b:
                for i in range(1000):
                    b.add(route(i))
        exc = info.value
        assert [i for i, _ in exc.failures] == [500]
        assert isinstance(exc.failures[0][1], errors.RouteExists)
        assert exc.failures[0][1].request == "route add 10.1.244.0/24 via 10.99.0.2 table main"
        assert len(b.results) == 1000 and len(kernel.table) == 1000
        flags = sent_flags(kernel.sockets[0])
        assert 1 <= len(flags) <= 4 and sum(map(len, flags)) == 1000
        for f in flags:  # only the last request of each buffer asks for an ACK
            assert [bool(x & P.NLM_F_ACK) for x in f] == [False] * (len(f) - 1) + [True]
        with pytest.raises(TypeError):
            with c.batch():
                pass


@aio
async def test_a_batch_keeps_unread_answers_within_the_receive_buffer(kernel):
    async with connect(kernel, rcvbuf=64 << 10) as c:
        async with c.batch(raise_on_error=False) as b:
            for i in range(3000):
                b.add(route(i))
            b.flush(Filter(table=7))
            b.delete(route(5))
        assert b.results[:3000] == [None] * 3000 and b.results[3000] is None
        sock = kernel.sockets[0]
        assert 0 < sock.max_queued <= (64 << 10) // C.REPLY_COST  # the in-flight window
        assert len(sock.sends) > 3
        assert c.pending == 0 and len(kernel.table) == 0  # the fake's flush takes all


@aio
async def test_an_atomic_batch_undoes_what_succeeded(kernel):
    a, gone, dup = route(1), route(3), route(4)
    for r in (a, gone, dup):
        kernel.table[r.key] = r
    before = dict(kernel.table)
    async with connect(kernel) as c:
        with pytest.raises(C.BatchError) as info:
            async with c.batch(atomic=True) as b:
                b.replace(route(1, gw="10.99.0.9"))
                b.add(route(2))
                b.delete(Route(dst=gone.dst, type=RouteType.UNSPEC))
                b.add(dup)  # fails: exists
        exc = info.value
        assert [i for i, _ in exc.failures] == [3] and kernel.table == before
        assert len(exc.undone) == 3 and not exc.undo_failures
        async with c.batch(atomic=True) as b:
            for i in range(10, 20):
                b.add(route(i))
        assert await b.commit() == [None] * 10 and len(kernel.table) == 13


@aio
async def test_an_unanswered_batch_times_out_per_request(kernel):
    async with connect(kernel, timeout=0.4) as c:
        kernel.silent = True
        async with c.batch(raise_on_error=False) as b:
            for i in range(5):
                b.add(route(i))
        assert all(isinstance(e, errors.Timeout) for e in b.results) and len(b.results) == 5
        assert b.results[2].request == f"route add {net(2)} via 10.99.0.2 table main"
        kernel.silent = False
        await c.add(route(9))  # still usable
        assert c.pending == 0


# ---- notifications ---------------------------------------------------------------------


@aio
async def test_subscribers_and_monitors_see_changes_with_the_requester_port(kernel):
    async with connect(kernel) as c:
        events: list[Event] = []
        sub = await c.subscribe(events.append)
        async with c.monitor(Filter(prefix=ip_network("10.0.0.0/16"), match=Match.ROOT)) as mon:
            await c.add(Route(dst=ip_network("10.5.0.0/24"), gateway=ip_address("10.99.0.2")))
            await c.add(route(9))
            await c.delete(Route(dst=net(9), type=RouteType.UNSPEC))
            first = await mon.__anext__()
            assert (first.kind, first.route, first.pid) == ("new", route(9), c.portid)
            assert (await mon.__anext__()).kind == "del"
        await until(lambda: len(events) == 3, "3 events")
        assert [e.kind for e in events] == ["new", "new", "del"]
        sub.close()


@aio
async def test_a_resync_subscriber_starts_from_the_table_and_survives_an_overrun(kernel):
    fill(kernel, 10)
    async with connect(kernel, notify_rcvbuf=4096) as c:  # the fake keeps 4 notifications
        view: dict = {}
        kinds: list[str] = []

        def on_event(ev: Event):
            kinds.append(ev.kind)
            ev.apply_to(view)

        await c.subscribe(on_event, resync=True)
        await until(lambda: kinds, "the initial event")
        assert kinds == ["resync"] and len(view) == 10
        async with c.batch() as b:  # 400 notifications at once: the socket overruns
            for i in range(10, 300):
                b.add(route(i))
            for i in range(0, 5):
                b.delete(Route(dst=net(i), type=RouteType.UNSPEC))
            for i in range(10, 120):
                b.replace(route(i, gw="10.99.0.9"))
        marker = route(999)
        await c.add(marker)
        await until(lambda: marker.key in view and c.resyncs >= 1, "the resync and the marker")
        assert view == kernel.table


@aio
async def test_an_overrun_without_resync_subscribers_is_reported(kernel):
    async with connect(kernel, notify_rcvbuf=2048) as c:
        kinds: list[str] = []
        await c.subscribe(lambda ev: kinds.append(ev.kind))
        async with c.batch() as b:
            for i in range(50):
                b.add(route(i))
        await until(lambda: "overrun" in kinds, "the overrun event")
        assert "resync" not in kinds and c.resyncs == 0


@aio
async def test_close_fails_what_waits_and_ends_monitors(kernel):
    kernel.hold = []
    c = connect(kernel)
    waiting = asyncio.ensure_future(c.get(net(1)))
    mon = await c.monitor()
    reading = asyncio.ensure_future(mon.__anext__())
    await until(lambda: kernel.hold, "the request sent")
    c.close()
    c.close()
    with pytest.raises(errors.RtmgrError) as info:
        await waiting
    assert info.value.errno == errno.ESHUTDOWN
    with pytest.raises(StopAsyncIteration):
        await reading
    with pytest.raises(errors.RtmgrError) as info:
        await c.get(net(1))
    assert info.value.errno == errno.ESHUTDOWN and c.closed


def test_a_client_belongs_to_the_loop_that_first_used_it(kernel):
    fill(kernel, 1)
    c = asyncio.run(_first_use(kernel))
    with pytest.raises(RuntimeError):
        asyncio.run(c.get(net(0)))
    c.close()


async def _first_use(kernel) -> rtshell.aio.Client:
    c = connect(kernel)
    assert await c.get(net(0)) == route(0)
    return c
