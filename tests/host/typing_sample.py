"""rtshell's public API used as a program would, for the type checker.

``mypy --strict`` checks this file with the package (pyproject.toml's
[tool.mypy], run by test_typing.py): every call here must type-check
without a cast or an ignore, and each ``assert_type`` pins what a caller
gets back.  test_typing.py also runs the parts that need no kernel, so the
sample says nothing the library does not do.  Not a test module: pytest
does not collect it.
"""

from __future__ import annotations

import errno
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import assert_type

import rtshell
import rtshell.aio
from rtshell import (
    Client, DumpInterrupted, Event, Filter, LookupResult, Match, ModuleNotLoaded, NextHop,
    ResyncEvent, Route, RouteExists, RouteType, RtmgrError, Stats, Subscription,
)


def routes() -> list[Route]:
    """Routes made the ways the documentation shows: from strings, objects, `ip route` words."""
    plain = Route(dst="10.1.0.0/16", gateway="10.99.0.2", oif=2, metric=10)
    multipath = Route(dst=ip_network("2001:db8:1::/48"),
                      nexthops=[NextHop("2001:db8::2", 2, weight=3), NextHop(oif=3)])
    blackhole = Route(dst="192.0.2.0/24", type=RouteType.BLACKHOLE, table=100)
    parsed = Route.parse("10.2.0.0/16 via 10.99.0.2 metric 5 table 100")
    assert_type(plain.dst, IPv4Network | IPv6Network)
    assert_type(plain.gateway, IPv4Address | IPv6Address | None)
    assert_type(multipath.nexthops, tuple[NextHop, ...])
    assert_type(blackhole.type, RouteType)
    assert_type(parsed.key, tuple[int, int, IPv4Network | IPv6Network, int])
    assert_type(parsed.all_nexthops(), tuple[NextHop, ...])
    return [plain, multipath, blackhole, parsed]


def filters() -> list[Filter]:
    inside = Filter(prefix="10.0.0.0/8", match=Match.ROOT)
    by_table = Filter(family=6, table=100, type=RouteType.UNICAST, gateway="2001:db8::2")
    assert_type(inside.prefix, IPv4Network | IPv6Network | None)
    assert_type(inside.match, Match)
    assert_type(by_table.matches(routes()[1]), bool)
    return [inside, by_table]


def describe(exc: RtmgrError) -> str:
    """What a caller reads off any error: errno (an int, never None), the kernel's text."""
    assert_type(exc.errno, int)
    assert_type(exc.ext_ack, str | None)
    assert_type(exc.request, str | None)
    return f"{exc.errno_name}: {exc.ext_ack or exc.strerror}"


def on_event(event: Event) -> None:
    if isinstance(event, ResyncEvent):
        assert_type(event.added, tuple[Route, ...])
    elif event.route is not None:
        print(event.kind, event.route.dst, event.pid)


def manage(client: Client) -> int:
    """A script's work against the kernel: changes, reads, a batch, notifications."""
    for route in routes():
        try:
            client.add(route)
        except RouteExists:
            client.replace(route)
    echoed = client.add(Route(dst="10.3.0.0/16", oif=2), echo=True)
    assert_type(echoed, Route | None)
    assert_type(client.get("10.1.0.0/16"), Route)
    assert_type(client.lookup("10.1.2.3"), Route)
    answers = client.lookup_many(["10.1.2.3", IPv6Address("2001:db8:1::1")])
    assert_type(answers, list[LookupResult])
    for answer in answers:
        print(answer.addr, answer.route.dst if answer.route is not None else "unreachable")

    try:
        for route in client.dump(filters()[0], consistent=True):
            print(route.dst, route.gateway, route.metric)
    except DumpInterrupted as exc:
        print(describe(exc))

    with client.batch(raise_on_error=False) as batch:
        for n in range(4):
            batch.add(Route(dst=IPv4Network(f"10.9.{n}.0/24"), oif=2))
        batch.delete(Filter(table=100))
    failed = [describe(e) for e in batch.results if e is not None]

    sub = client.subscribe(on_event, Filter(family=4))
    assert_type(sub, Subscription)
    sub.close()
    with client.monitor(resync=True) as events:
        for event in events:
            assert_type(event, Event)
            break

    stats = client.stats(tables=False)
    assert_type(stats, Stats)
    assert_type(client.delete(routes()[0]), Route | None)
    assert_type(client.delete(Filter(table=100)), int)
    return client.flush(Filter(prefix="10.0.0.0/8", match=Match.ROOT)) + len(failed)


async def manage_on_a_loop() -> int:
    """The same work with rtshell.aio: each verb awaited, dumps and events async-iterated."""
    async with rtshell.aio.Client(timeout=2.0) as client:
        echoed = await client.add(Route(dst="10.3.0.0/16", oif=2), echo=True)
        assert_type(echoed, Route | None)
        assert_type(await client.get("10.1.0.0/16"), Route)
        assert_type(await client.lookup_many(["10.1.2.3"]), list[LookupResult])
        async for route in client.dump(filters()[0], consistent=True):
            print(route.dst, route.gateway)
        async with client.batch(raise_on_error=False) as batch:
            batch.add(Route(dst="10.9.0.0/24", oif=2))
        assert_type(batch.results, list[RtmgrError | None])
        sub = await client.subscribe(on_event, resync=True)
        assert_type(sub, Subscription)
        sub.close()
        async with client.monitor(Filter(family=4)) as events:
            async for event in events:
                assert_type(event, Event)
                break
        assert_type(await client.stats(tables=False), Stats)
        assert_type(await client.delete(routes()[0]), Route | None)
        return await client.delete(Filter(table=100))


def main() -> int:
    try:
        with Client(timeout=2.0) as client:
            print(f"rtshell {rtshell.__version__}, port {client.portid}")
            return 0 if manage(client) >= 0 else 1
    except ModuleNotLoaded as exc:
        assert exc.errno == errno.EPROTONOSUPPORT
        print(exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
