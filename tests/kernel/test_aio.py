"""Kernel tier: rtshell.aio, the asyncio client, against the real rtmgr module (inside the VM).

The same guest as test_client.py (root, rtmgr loaded, dummy0 10.99.0.1/24
and 2001:db8:ffff::1/64, dummy1 10.98.0.1/24); these tests work in their own
tables.  Each body is a coroutine on a fresh event loop, bounded as a whole;
emulation is slow, so the client's waits are generous.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import time
from ipaddress import ip_address, ip_network

import pytest

import rtshell.aio
from rtshell import client as C
from rtshell import errors
from rtshell import netlink as nl
from rtshell.model import Filter, LookupResult, NextHop, Route, RouteType, sort_key

from routes import GW, GW2, TABLE, TABLE2, TIMEOUT, needs_module, r4, r6

pytestmark = needs_module


def on_loop(test):
    """Run an ``async def`` test on a fresh event loop; the whole of it within 10 minutes."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(test(*args, **kwargs), 600))
    return run


async def table_of(c: rtshell.aio.Client, table: int = TABLE) -> dict:
    return {r.key: r async for r in c.dump(Filter(table=table), consistent=True)}


async def next_event(events: rtshell.aio.Monitor):
    return await asyncio.wait_for(events.__anext__(), TIMEOUT)


# ---- every call ------------------------------------------------------------------


@on_loop
async def test_every_verb_against_the_module(dummy0, dummy1):
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        r = r4(1)
        created = await c.add(r, echo=True)
        assert created == r and created.created is not None
        assert await c.get(r.dst, TABLE) == r
        await c.replace(r4(1, gw=GW2))
        assert (await c.get(r.dst, TABLE)).gateway == GW2
        await c.change(r4(1))
        assert (await c.get(r.dst, TABLE)).gateway == GW
        await c.add(r4(1, gw=GW2, metric=7))  # the metric is part of the key: a backup
        assert (await c.get(r.dst, TABLE, metric=7)).gateway == GW2
        await c.delete(Route(dst=r.dst, table=TABLE, metric=7, type=RouteType.UNSPEC))
        await c.append(Route(dst=r.dst, table=TABLE, gateway=GW2))
        assert {h.gateway for h in (await c.get(r.dst, TABLE)).all_nexthops()} == {GW, GW2}
        gone = await c.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC), echo=True)
        assert gone is not None and gone.dst == r.dst

        kinds = [
            Route(dst=ip_network("10.7.0.0/16"), table=TABLE, type=RouteType.BLACKHOLE),
            Route(dst=ip_network("10.8.0.0/16"), table=TABLE, oif=dummy0, metric=5, proto=4),
            Route(dst=ip_network("10.9.0.0/16"), table=TABLE,
                  nexthops=(NextHop(GW, dummy0, 3), NextHop(GW2, dummy1, 1))),
            r6(1),
        ]
        for k in kinds:
            await c.add(k)
        assert sorted((await table_of(c)).values(), key=sort_key) == sorted(kinds, key=sort_key)

        await c.add(Route(dst=ip_network("10.1.0.0/16"), table=TABLE, gateway=GW))
        await c.add(Route(dst=ip_network("10.1.2.0/24"), table=TABLE, gateway=GW2))
        assert (await c.lookup("10.1.2.3", TABLE)).dst == ip_network("10.1.2.0/24")
        with pytest.raises(errors.NoRoute):
            await c.lookup("192.0.2.1", TABLE)
        addrs = [ip_address(f"10.1.{i % 4}.{i % 250 + 1}") if i % 3 else ip_address(f"2001:db8:1::{i:x}")
                 for i in range(4500)]  # more than RTMGR_MAX_LOOKUP_ADDRS, both families
        res = await c.lookup_many(addrs, TABLE)
        assert [x.addr for x in res] == addrs and all(isinstance(x, LookupResult) for x in res)
        assert all((x.route is not None) for x in res)

        stats = await c.stats()
        assert (stats.routes4, stats.routes6) == (5, 1)
        assert {(t.table, t.family): t.routes for t in stats.tables}[(TABLE, 4)] == 5
        assert (await c.stats(tables=False)).tables == ()
        assert await c.flush(Filter(table=TABLE, family=6)) == 1
        assert await c.delete(Filter(table=TABLE)) == 5
        assert await table_of(c) == {} and c.pending == 0


@on_loop
async def test_errors_carry_the_kernels_text_as_the_threaded_clients_do(dummy0):
    refused = [
        ("add", r4(1)),  # EEXIST once it is there
        ("add", Route(dst=ip_network("10.5.0.0/16"), table=TABLE, oif=999999)),
        ("add", Route(dst=ip_network("10.5.0.0/16"), table=TABLE, gateway=ip_address("224.0.0.1"))),
        ("change", r4(2)),
        ("delete", Route(dst=r4(1).dst, table=TABLE, type=RouteType.UNSPEC,
                         gateway=ip_address("10.99.0.77"))),
    ]
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        await c.add(r4(1))
        with C.Client(timeout=TIMEOUT) as threaded:
            for verb, route in refused:
                with pytest.raises(errors.RtmgrError) as mine:
                    await getattr(c, verb)(route)
                with pytest.raises(errors.RtmgrError) as theirs:
                    getattr(threaded, verb)(route)
                assert type(mine.value) is type(theirs.value)
                assert str(mine.value) == str(theirs.value)
        with pytest.raises(errors.RouteExists) as info:
            await c.add(r4(1))
        assert info.value.errno == errno.EEXIST
        assert info.value.request == f"route add 10.0.1.0/24 via {GW} table {TABLE}"
        with pytest.raises(errors.NoSuchDevice) as info:
            await c.add(refused[1][1])
        assert info.value.ext_ack  # the kernel's own words
        with pytest.raises(errors.InvalidRequest) as info:
            await c.add(refused[2][1])
        assert "multicast" in info.value.ext_ack
        with pytest.raises(errors.RouteNotFound) as info:
            await c.get(r4(2).dst, TABLE)
        assert info.value.request == f"route get 10.0.2.0/24 table {TABLE}"


# ---- dumps -------------------------------------------------------------------------


@on_loop
async def test_a_dump_of_20000_routes_equals_the_threaded_clients_dump(capsys):
    n = 20_000
    flt = Filter(table=TABLE)
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        async with c.batch() as b:
            for i in range(n):
                b.add(r4(i))
        with C.Client(timeout=TIMEOUT) as threaded:
            timings = {"asyncio": [], "threaded": []}
            for _ in range(2):  # alternately, twice: the best of each
                t0 = time.perf_counter()
                mine = [r async for r in c.dump(flt)]
                timings["asyncio"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                theirs = list(threaded.dump(flt))
                timings["threaded"].append(time.perf_counter() - t0)
                assert mine == theirs
        assert len(mine) == n and [sort_key(r) for r in mine] == sorted(sort_key(r) for r in mine)
        best = {k: min(v) for k, v in timings.items()}
        with capsys.disabled():
            print(f"\n[aio bench] dump of {n} routes: asyncio {best['asyncio']:.2f} s "
                  f"({n / best['asyncio']:,.0f} routes/s), threaded {best['threaded']:.2f} s "
                  f"({n / best['threaded']:,.0f} routes/s), ratio "
                  f"{best['threaded'] / best['asyncio']:.2f}")


@on_loop
async def test_an_interrupted_dump_restarts_and_back_pressure_holds_the_kernel():
    n = 3000
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        async with c.batch() as b:
            for i in range(n):
                b.add(r4(i))
        late, gone = r4(n + 5), r4(n - 1)  # both sort after the first buffers
        # small receive buffers make the kernel fill small dump buffers: held
        # back a few buffers ahead of the consumer, most of the dump is made
        # after the change below
        small = rtshell.aio.Client(timeout=TIMEOUT,
                                   _socket_factory=lambda **kw: nl.NetlinkSocket(bufsize=8192, **kw))
        async with small:
            it = small.dump(Filter(table=TABLE))
            first = await it.__anext__()
            await c.add(late)
            await c.delete(Route(dst=gone.dst, table=TABLE, type=RouteType.UNSPEC))
            got = [first] + [r async for r in it]
            assert small.dump_restarts == 1
        keys = [sort_key(r) for r in got]
        assert keys == sorted(set(keys))
        assert late in got and gone not in got and len(got) == n


@on_loop
async def test_a_dump_left_or_cancelled_midway_then_reuse():
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        async with c.batch() as b:
            for i in range(3000):
                b.add(r4(i))
        n = 0
        async for _ in c.dump(Filter(table=TABLE)):
            n += 1
            if n == 10:
                break
        assert await c.get(r4(2000).dst, TABLE) == r4(2000)
        assert len([r async for r in c.dump(Filter(table=TABLE))]) == 3000

        started = asyncio.Event()

        async def consume():
            async for _ in c.dump(Filter(table=TABLE)):
                started.set()
                await asyncio.sleep(0)

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(started.wait(), TIMEOUT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await c.lookup("10.0.5.1", TABLE) == r4(5)
        assert len([r async for r in c.dump(Filter(table=TABLE))]) == 3000 and c.pending == 0


@on_loop
async def test_tasks_share_one_client():
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        async def writer(t):
            for i in range(30):
                r = r4(t * 100 + i)
                await c.add(r)
                assert await c.get(r.dst, TABLE) == r
                assert await c.lookup(str(r.dst.network_address + 1), TABLE) == r
                if i % 2:
                    await c.delete(Route(dst=r.dst, table=TABLE, type=RouteType.UNSPEC))

        async def reader():
            for _ in range(5):
                keys = [sort_key(r) async for r in c.dump(Filter(table=TABLE))]
                assert keys == sorted(set(keys))
                await c.stats()

        await asyncio.gather(*[writer(t) for t in range(6)], reader(), reader())
        assert len(await table_of(c)) == 6 * 15


# ---- batches -----------------------------------------------------------------------


@on_loop
async def test_a_batch_with_one_refusal_and_an_atomic_undo():
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        sends = []
        c.trace = lambda direction, data: sends.append(len(data)) if direction == "send" else None
        with pytest.raises(C.BatchError) as info:
            async with c.batch() as b:
                for i in range(1000):
                    b.add(Route(dst=r4(i).dst, table=TABLE, oif=999999) if i == 500 else r4(i))
        c.trace = None
        ((index, err),) = info.value.failures
        assert index == 500 and isinstance(err, errors.NoSuchDevice) and err.ext_ack
        assert len(await table_of(c)) == 999 and len(sends) <= 6

        before = await table_of(c)
        with pytest.raises(C.BatchError) as info:
            async with c.batch(atomic=True) as b:
                b.replace(r4(1, gw=GW2))
                b.add(r4(500))
                b.delete(Route(dst=r4(3).dst, table=TABLE, type=RouteType.UNSPEC))
                b.add(r4(9))  # EEXIST: the whole batch is undone
                b.flush(Filter(table=TABLE2))
        assert [i for i, _ in info.value.failures] == [3]
        assert await table_of(c) == before and not info.value.undo_failures


# ---- notifications -----------------------------------------------------------------


@on_loop
async def test_notifications_arrive_for_another_clients_change():
    async with rtshell.aio.Client(timeout=TIMEOUT) as c:
        await c.add(r4(1))
        async with c.monitor(Filter(table=TABLE)) as events:
            with C.Client(timeout=TIMEOUT) as other:  # another socket, another port id
                other.add(r4(2))
                other.add(r4(3, table=TABLE2))  # filtered out
                other.delete(Route(dst=r4(2).dst, table=TABLE, type=RouteType.UNSPEC))
                assert other.flush(Filter(table=TABLE)) == 1
                new, gone, flushed = [await next_event(events) for _ in range(3)]
                assert (new.kind, new.route, new.pid) == ("new", r4(2), other.portid)
                assert (gone.kind, gone.pid) == ("del", other.portid)
                assert (flushed.kind, flushed.count) == ("flush", 1)
            async with rtshell.aio.Client(timeout=TIMEOUT) as third:
                await third.add(r4(4))
                ev = await next_event(events)
                assert (ev.kind, ev.route, ev.pid) == ("new", r4(4), third.portid)

        seen = []
        sub = await c.subscribe(seen.append, Filter(table=TABLE), resync=True)
        async with c.monitor(Filter(table=TABLE)) as events:  # the same socket: in order
            await c.add(r4(5))
            assert (await next_event(events)).route == r4(5)
        first, new = seen[:2]
        assert isinstance(first, C.ResyncEvent) and first.initial
        assert [r.key for r in first.added] == [r4(4).key]
        assert (new.kind, new.route, new.pid) == ("new", r4(5), c.portid)
        sub.close()
