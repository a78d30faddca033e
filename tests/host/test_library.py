"""The Python library as a scripting user meets it: the names exported from
``rtshell``, values checked where a Route or Filter is made, and
``Route.parse`` taking the words of `ip route`."""

import ipaddress as ip
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from fakes import fake_devices
import rtshell
from rtshell import netlink as nl
from rtshell import Filter, Match, NextHop, Route, RouteType
from rtshell.names import Devices
from rtshell.words import route_text


def test_the_public_names_are_exported():
    for name in rtshell.__all__:
        assert getattr(rtshell, name) is not None, name
    assert rtshell.client.Client is rtshell.Client
    assert issubclass(rtshell.RouteExists, rtshell.RtmgrError)
    assert (Path(rtshell.__file__).parent / "py.typed").exists()


def test_strings_become_addresses():
    r = Route(dst="10.0.0.0/8", gateway="10.99.0.2", nexthops=[], type=1)
    assert r == Route(dst=ip.ip_network("10.0.0.0/8"), gateway=ip.ip_address("10.99.0.2"))
    assert type(r.nexthops) is tuple and r.type is RouteType.UNICAST
    assert Route(dst="2001:db8::/32").family == 6
    assert NextHop("10.99.0.3", 2).gateway == ip.ip_address("10.99.0.3")
    f = Filter(prefix="10.0.0.0/8", match=1, gateway="10.99.0.2")
    assert f.prefix == ip.ip_network("10.0.0.0/8") and f.match is Match.ROOT


@pytest.mark.parametrize("kw, exc, words", [
    (dict(dst="10.0.0.1/8"), ValueError, "host bits"),
    (dict(dst=5), TypeError, "dst must be a prefix"),
    (dict(dst="10.0.0.0/8", gateway="gw"), ValueError, "not an IPv4 or IPv6 address"),
    (dict(dst="10.0.0.0/8", gateway=10), TypeError, "gateway must be an address"),
    (dict(dst="10.0.0.0/8", oif="eth0"), TypeError, "integer"),
    (dict(dst="10.0.0.0/8", metric="10"), TypeError, "metric must be an integer"),
    (dict(dst="10.0.0.0/8", oif=True), TypeError, "integer"),
    (dict(dst="10.0.0.0/8", type=99), ValueError, "RouteType"),
    (dict(dst="10.0.0.0/8", nexthops=(("10.99.0.2", 2),)), TypeError, "NextHop"),
])
def test_a_value_of_the_wrong_kind_is_refused_at_once(kw, exc, words):
    with pytest.raises(exc, match=words):
        Route(**kw)


@pytest.mark.parametrize("route, words", [
    (Route(dst="10.0.0.0/8", gateway="2001:db8::1"), "different families"),
    (Route(dst="10.0.0.0/8", oif=1, metric=-1), "does not fit"),
    (Route(dst="10.0.0.0/8", nexthops=(NextHop(oif=1, weight=257), NextHop(oif=2))), "weight 257"),
])
def test_a_number_out_of_range_is_refused_naming_the_request(route, words):
    with pytest.raises(rtshell.InvalidRequest, match=words) as exc:
        nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, 1, route)
    assert isinstance(exc.value, ValueError) and str(exc.value).startswith("route add 10.0.0.0/8")


@pytest.mark.parametrize("kw, exc", [
    (dict(family=5), ValueError),
    (dict(prefix="10.0.0.1/8"), ValueError),
    (dict(oif="x"), TypeError),
    (dict(match=7), ValueError),
])
def test_a_bad_filter_is_refused(kw, exc):
    with pytest.raises(exc):
        Filter(**kw)


def test_route_parse_takes_ip_route_words():
    devices = Devices(lambda: [(7, "eth0"), (8, "eth1")])
    r = Route.parse("10.1.0.0/16 via 10.99.0.2 dev eth0 metric 10 table 100", devices=devices)
    assert r == Route(dst="10.1.0.0/16", gateway="10.99.0.2", oif=7, metric=10, table=100,
                      proto=r.proto)
    mp = Route.parse("2001:db8::/32 nexthop via fe80::1 dev eth0 weight 2 nexthop dev eth1",
                     devices=devices)
    assert mp.nexthops == (NextHop(ip.ip_address("fe80::1"), 7, 2), NextHop(None, 8, 1))
    assert Route.parse("blackhole default").type is RouteType.BLACKHOLE
    with pytest.raises(ValueError, match="33"):
        Route.parse("10.5.0.0/33 dev eth0", devices=devices)
    with pytest.raises(ValueError):
        Route.parse("", devices=devices)


# -- str(route) and Route.parse: one language both ways ------------------------------------------


_v4 = st.builds(lambda a, n: ip.IPv4Network((a, n), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32))
_v6 = st.builds(lambda a, n: ip.IPv6Network((a, n), strict=False), st.integers(0, 2**128 - 1), st.integers(0, 128))


@st.composite
def routes(draw):
    dst = draw(st.one_of(_v4, _v6))
    rtype = draw(st.sampled_from([RouteType.UNICAST, RouteType.BLACKHOLE, RouteType.UNREACHABLE, RouteType.PROHIBIT]))
    kw = dict(table=draw(st.sampled_from([254, 100, 255, 4294967295])), metric=draw(st.integers(0, 2**32 - 1)),
              proto=draw(st.sampled_from([3, 4, 186, 255])), type=rtype)
    if rtype is RouteType.UNICAST:
        gw = (st.builds(ip.IPv4Address, st.integers(1, 2**32 - 1)) if dst.version == 4
              else st.builds(ip.IPv6Address, st.integers(1, 2**128 - 1)))
        hops = draw(st.lists(st.tuples(st.one_of(st.none(), gw), st.sampled_from([None, 2, 3]),
                                       st.integers(1, 256)), min_size=1, max_size=4, unique_by=lambda h: h[:2])
                    .filter(lambda hs: all(g is not None or o is not None for g, o, _ in hs)))
        if len(hops) == 1:
            kw.update(gateway=hops[0][0], oif=hops[0][1])
        else:
            kw["nexthops"] = tuple(NextHop(g, o, w) for g, o, w in hops)
    return Route(dst=dst, **kw)


@settings(max_examples=300, deadline=None)
@given(routes())
def test_a_route_in_words_parses_back_to_itself(route):
    devices = fake_devices()
    assert Route.parse(route_text(route, devices), devices=devices) == route


def test_str_of_a_route_is_its_ip_words():
    r = Route.parse("10.0.0.0/8 via 10.99.0.2 metric 5 table 100")
    assert str(r) == "10.0.0.0/8 via 10.99.0.2 metric 5 table 100 proto boot"
    assert Route.parse(str(r)) == r


def test_an_error_says_whose_words_it_carries_and_survives_pickling():
    import errno
    import pickle

    from rtshell import errors

    kernel = errors.error_for(errno.EEXIST, "route exists", "route add 10.0.0.0/8", 24)
    own = errors.error_for(errno.ETIMEDOUT, None, "route get 10.0.0.0/8", None, "no answer within 5 s")
    assert isinstance(kernel, errors.RouteExists) and (kernel.ext_ack, kernel.detail) == ("route exists", None)
    assert isinstance(own, errors.Timeout) and (own.ext_ack, own.detail) == (None, "no answer within 5 s")
    assert str(own) == "route get 10.0.0.0/8: ETIMEDOUT (Connection timed out): no answer within 5 s" + (
        f"; {own.advice}" if own.advice else "")
    for exc in (kernel, own):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert (back.errno, back.ext_ack, back.request, back.offset, back.detail) == (
            exc.errno, exc.ext_ack, exc.request, exc.offset, exc.detail)


def test_a_filter_on_a_device_and_a_gateway_needs_one_next_hop_with_both():
    gw1, gw2 = ip.ip_address("10.99.0.2"), ip.ip_address("10.98.0.2")
    multi = Route("192.168.0.0/16", nexthops=(NextHop(gw1, 2, 1), NextHop(gw2, 3, 1)))
    assert Filter(oif=2, gateway=gw1).matches(multi)
    assert Filter(oif=3, gateway=gw2).matches(multi)
    assert not Filter(oif=2, gateway=gw2).matches(multi)  # as the kernel's filter_match: not across hops
    assert Filter(oif=3).matches(multi) and Filter(gateway=gw2).matches(multi)
    assert not Filter(oif=2, gateway=gw1).matches(Route("10.0.0.0/8", gateway=gw1))


def test_an_event_says_once_what_it_does_to_a_copy_of_the_table():
    from rtshell.model import Effect, Event, ResyncEvent

    a = Route.parse("10.1.0.0/16 dev dummy0", devices=Devices(lambda: [(2, "dummy0")]))
    b = Route.parse("10.2.0.0/16 via 10.99.0.2 table 100")
    assert Event(kind="new", route=a).effect() == Effect(put=(a,))
    assert Event(kind="del", route=a).effect() == Effect(removed=(a,))
    assert Event(kind="flush", filter=None).effect() == Effect(flushed=Filter())
    assert Event(kind="overrun", count=0).effect() == Effect()
    gap = ResyncEvent(kind="resync", added=(b,), removed=(a,))
    assert gap.effect() == Effect(removed=(a,), put=(b,))
    table = {}
    for ev in (Event(kind="new", route=a), Event(kind="new", route=b),
               Event(kind="flush", filter=Filter(table=100)), gap):
        ev.apply_to(table)
    assert table == {b.key: b}  # b flushed with table 100, then put back by the resync; a removed
