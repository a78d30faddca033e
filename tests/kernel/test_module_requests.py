"""rtmgr requests and their semantics, against the real module.

The add / replace / change / append / delete matrix with the expected errno
and the table afterwards; get, lookup, bulk lookup, flush, stats; and every
refusal path with its extended-ACK text.
"""

import errno
import ipaddress as ip

import pytest

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, Match, NextHop, Route, RouteType
from wire import RTMGR_HDR, a4, a6, attr, error_of, nest, u32

N4 = ip.ip_network
A = ip.ip_address

REQ_ACK = P.NLM_F_REQUEST | P.NLM_F_ACK


def hdr(family=2, dst_len=0, rtype=0, proto=0, table=0):
    return RTMGR_HDR.pack(family, dst_len, rtype, proto, table)


def r4(dst="10.1.0.0/16", gw="10.99.0.2", oif=None, **kw):
    return Route(dst=N4(dst), gateway=A(gw) if gw else None, oif=oif, **kw)


def table(wire):
    return {r.dst: r for r in wire.routes()}


# ---- add / replace / change / append / delete ---------------------------------

MATRIX = [
    # (request, route present before?, expected errno, route present after?)
    ("add", False, 0, True),
    ("add", True, errno.EEXIST, True),
    ("replace", False, 0, True),
    ("replace", True, 0, True),
    ("change", False, errno.ENOENT, False),
    ("change", True, 0, True),
    ("append", False, 0, True),
    ("append", True, 0, True),
    ("delete", False, errno.ESRCH, False),
    ("delete", True, 0, False),
]

FLAGS = {
    "add": nl.ADD_FLAGS,
    "replace": nl.REPLACE_FLAGS,
    "change": nl.CHANGE_FLAGS,
    "append": nl.APPEND_FLAGS,
}


@pytest.mark.parametrize("request_, present, want_errno, after", MATRIX)
def test_semantics_matrix(wire, dummy0, request_, present, want_errno, after):
    old = r4(gw="10.99.0.2", oif=dummy0, metric=5)
    new = r4(gw="10.99.0.3", oif=dummy0, metric=5)  # the same key: (main, 10.1.0.0/16, metric 5)
    if present:
        assert error_of(wire.add(old))[0] == 0
    if request_ == "delete":
        msgs = wire.route(nl.DELROUTE, nl.DELETE_FLAGS, Route(dst=old.dst, type=RouteType.UNSPEC))
    else:
        msgs = wire.route(nl.NEWROUTE, FLAGS[request_], new)
    assert error_of(msgs)[0] == want_errno
    t = table(wire)
    assert (old.dst in t) == after
    if not after:
        return
    got = t[old.dst]
    if want_errno:
        assert got == old  # a refused request changes nothing
    elif request_ == "append" and present:
        assert got.nexthops == (NextHop(A("10.99.0.2"), dummy0, 1), NextHop(A("10.99.0.3"), dummy0, 1))
        assert got.metric == 5
    else:
        assert got == new


def test_replace_keeps_created_and_moves_changed(wire, dummy0):
    wire.add(r4(oif=dummy0))
    before = wire.routes()[0]
    wire.route(nl.NEWROUTE, nl.REPLACE_FLAGS, r4(gw="10.99.0.9"))
    after = wire.routes()[0]
    assert after.created == before.created
    assert after.changed > before.changed
    assert after.gateway == A("10.99.0.9")


def test_append_makes_multipath_and_refuses_duplicates(wire, dummy0, dummy1):
    wire.add(r4(gw="10.99.0.2", oif=dummy0))
    assert error_of(wire.route(nl.NEWROUTE, nl.APPEND_FLAGS, r4(gw="10.98.0.2", oif=dummy1)))[0] == 0
    assert error_of(wire.route(nl.NEWROUTE, nl.APPEND_FLAGS, r4(gw="10.98.0.2", oif=dummy1)))[0] == errno.EEXIST
    (route,) = wire.routes()
    assert [h.gateway for h in route.nexthops] == [A("10.99.0.2"), A("10.98.0.2")]


def test_append_is_per_key_another_metric_is_another_route(wire, dummy0):
    wire.add(r4(oif=dummy0, metric=5))
    assert error_of(wire.route(nl.NEWROUTE, nl.APPEND_FLAGS, r4(gw="10.99.0.7", metric=6)))[0] == 0
    assert [(r.metric, len(r.all_nexthops())) for r in wire.routes()] == [(5, 1), (6, 1)]
    assert error_of(wire.route(nl.NEWROUTE, nl.APPEND_FLAGS, r4(gw="10.99.0.8", metric=6)))[0] == 0
    assert [(r.metric, len(r.all_nexthops())) for r in wire.routes()] == [(5, 1), (6, 2)]


# -- the metric is part of the key, as in the FIB --


def lookup(wire, addr):
    out = wire.exchange(nl.build_lookup(wire.next_seq(), A(addr), ack=True))
    assert out[0].kind == "lookup", out
    return out[0].route


def get(wire, dst, metric=None):
    """The route GETROUTE answers (metric None: no RTMGR_A_METRIC), or error_of() its refusal."""
    out = wire.exchange(nl.build_get(wire.next_seq(), N4(dst), ack=True, metric=metric))
    routes = [m.route for m in out if m.kind == "route"]
    return routes[0] if routes else error_of(out)


def test_two_metrics_of_one_prefix_coexist_and_the_lower_wins(wire, dummy0, dummy1):
    backup = r4(gw="10.98.0.2", oif=dummy1, metric=20)
    best = r4(gw="10.99.0.2", oif=dummy0, metric=10)
    assert error_of(wire.add(backup))[0] == 0
    assert error_of(wire.add(best))[0] == 0  # no EEXIST: another key
    err, text, _ = error_of(wire.add(r4(gw="10.97.0.2", metric=10)))
    assert err == errno.EEXIST and text == "route exists"  # the same four: refused
    assert [(r.metric, r.gateway) for r in wire.routes()] == [(10, A("10.99.0.2")), (20, A("10.98.0.2"))]
    assert lookup(wire, "10.1.2.3").metric == 10
    assert get(wire, "10.1.0.0/16").metric == 10  # without a metric: the lowest
    assert get(wire, "10.1.0.0/16", 20).gateway == A("10.98.0.2")
    err, text, _ = get(wire, "10.1.0.0/16", 15)
    assert err == errno.ENOENT and text == "no route with this prefix and metric in this table"
    # delete the preferred route: the backup wins
    assert error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS,
                               Route(dst=best.dst, metric=10, type=RouteType.UNSPEC)))[0] == 0
    assert lookup(wire, "10.1.2.3").metric == 20
    assert [r.metric for r in wire.routes()] == [20]


def test_delete_without_a_metric_takes_the_lowest_and_with_one_that_one(wire, dummy0):
    for metric in (30, 10, 20):
        assert error_of(wire.add(r4(oif=dummy0, metric=metric)))[0] == 0
    assert error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS, Route(dst=N4("10.1.0.0/16"), type=RouteType.UNSPEC)))[0] == 0
    assert [r.metric for r in wire.routes()] == [20, 30]
    assert error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS,
                               Route(dst=N4("10.1.0.0/16"), metric=30, type=RouteType.UNSPEC)))[0] == 0
    assert [r.metric for r in wire.routes()] == [20]
    err, _, _ = error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS,
                                    Route(dst=N4("10.1.0.0/16"), metric=30, type=RouteType.UNSPEC)))
    assert err == errno.ESRCH


def test_replace_and_change_name_their_metric(wire, dummy0, dummy1):
    wire.add(r4(oif=dummy0, metric=10))
    wire.add(r4(oif=dummy0, metric=20))
    assert error_of(wire.route(nl.NEWROUTE, nl.CHANGE_FLAGS, r4(gw="10.98.0.9", oif=dummy1, metric=20)))[0] == 0
    err, text, _ = error_of(wire.route(nl.NEWROUTE, nl.CHANGE_FLAGS, r4(oif=dummy1, metric=15)))
    assert err == errno.ENOENT and "metric" in text
    assert error_of(wire.route(nl.NEWROUTE, nl.REPLACE_FLAGS, r4(gw="10.98.0.7", oif=dummy1, metric=10)))[0] == 0
    assert [(r.metric, r.gateway) for r in wire.routes()] == [(10, A("10.98.0.7")), (20, A("10.98.0.9"))]
    assert error_of(wire.route(nl.NEWROUTE, nl.REPLACE_FLAGS, r4(oif=dummy1, metric=5)))[0] == 0  # a third
    assert [r.metric for r in wire.routes()] == [5, 10, 20]
    assert wire.stats().routes4 == 3


def test_a_dump_resumes_inside_the_metrics_of_one_prefix(wire, dummy0):
    # 700 metrics of one prefix and 300 prefixes of one metric around it: several skbs, each
    # ending anywhere, so the cursor often stops inside the prefix's metrics
    metrics = list(range(1, 1400, 2))
    routes = [r4("10.1.0.0/16", oif=dummy0, metric=m) for m in reversed(metrics)]
    routes += [r4(f"10.{2 + i // 256}.{i % 256}.0/24", oif=dummy0) for i in range(300)]
    for r in routes:
        assert error_of(wire.add(r))[0] == 0
    got = wire.routes()
    assert [r.metric for r in got if r.dst == N4("10.1.0.0/16")] == metrics
    assert len(got) == len(routes) and len(set((r.dst, r.metric) for r in got)) == len(routes)
    assert [r.metric for r in wire.routes(Filter(metric=701))] == [701]
    assert len(wire.routes(Filter(prefix=N4("10.1.0.0/16"), match=Match.EXACT))) == 700


def test_flush_takes_the_metrics_a_filter_names_and_leaves_the_others(wire, dummy0, dummy1):
    for metric in range(5):
        wire.add(r4(oif=dummy0 if metric % 2 else dummy1, metric=metric))
        wire.add(r4("10.2.0.0/16", oif=dummy0, metric=metric))
    assert wire.flush(Filter(oif=dummy0, prefix=N4("10.1.0.0/16"), match=Match.EXACT)) == 2
    assert [r.metric for r in wire.routes() if r.dst == N4("10.1.0.0/16")] == [0, 2, 4]
    assert wire.flush(Filter(metric=2)) == 2
    assert [(str(r.dst), r.metric) for r in wire.routes()] == [
        ("10.1.0.0/16", 0), ("10.1.0.0/16", 4), ("10.2.0.0/16", 0), ("10.2.0.0/16", 1),
        ("10.2.0.0/16", 3), ("10.2.0.0/16", 4)]
    assert wire.flush() == 6 and wire.stats().routes4 == 0


def test_append_without_create_needs_the_route(wire, dummy0):
    flags = REQ_ACK | P.NLM_F_APPEND
    err, text, _ = error_of(wire.route(nl.NEWROUTE, flags, r4(oif=dummy0)))
    assert err == errno.ENOENT and "no route" in text


def test_append_to_blackhole_is_refused(wire, dummy0):
    wire.add(Route(dst=N4("10.7.0.0/16"), type=RouteType.BLACKHOLE))
    err, text, _ = error_of(wire.route(nl.NEWROUTE, nl.APPEND_FLAGS, r4("10.7.0.0/16", oif=dummy0)))
    assert err == errno.EINVAL and "not unicast" in text


def test_multipath_add_and_weights(wire, dummy0, dummy1):
    hops = (NextHop(A("10.99.0.2"), dummy0, 3), NextHop(A("10.98.0.2"), dummy1, 256))
    assert error_of(wire.add(Route(dst=N4("10.8.0.0/16"), nexthops=hops)))[0] == 0
    (route,) = wire.routes()
    assert route.nexthops == hops


def test_too_many_nexthops(wire, dummy0):
    # the library refuses to build this, so it is written by hand
    hop = lambda i: nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_GATEWAY, a4(f"10.99.0.{i + 2}")))  # noqa: E731
    mp = nest(P.RTMGR_A_MULTIPATH, b"".join(hop(i) for i in range(P.RTMGR_MAX_NEXTHOPS + 1)))
    err, text, _ = error_of(wire.raw(P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), attr(P.RTMGR_A_DST, a4("10.8.0.0")) + mp))
    assert err == errno.E2BIG and "too many next hops" in text
    assert wire.routes() == []


def test_delete_only_when_fields_match(wire, dummy0, dummy1):
    route = r4(gw="10.99.0.2", oif=dummy0, metric=10, proto=4)
    wire.add(route)
    for wrong in (
        Route(dst=route.dst, type=RouteType.UNSPEC, gateway=A("10.99.0.3")),
        Route(dst=route.dst, type=RouteType.UNSPEC, oif=dummy1),
        Route(dst=route.dst, type=RouteType.BLACKHOLE),
        Route(dst=route.dst, type=RouteType.UNSPEC, proto=9),
    ):
        err, text, _ = error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS, wrong))
        assert err == errno.ESRCH and "does not match" in text, wrong
    # the metric is part of the key: another metric is another route, which is not there
    err, text, _ = error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS,
                                       Route(dst=route.dst, type=RouteType.UNSPEC, metric=11)))
    assert err == errno.ESRCH and text == "no route with this prefix and metric in this table"
    assert len(wire.routes()) == 1
    right = Route(dst=route.dst, type=RouteType.UNICAST, gateway=A("10.99.0.2"), oif=dummy0, metric=10, proto=4)
    assert error_of(wire.route(nl.DELROUTE, nl.DELETE_FLAGS, right))[0] == 0
    assert wire.routes() == []


def test_types_and_ipv6(wire, dummy0):
    routes = [
        Route(dst=N4("192.0.2.0/24"), type=RouteType.BLACKHOLE),
        Route(dst=N4("198.51.100.0/24"), type=RouteType.UNREACHABLE),
        Route(dst=N4("203.0.113.0/24"), type=RouteType.PROHIBIT),
        Route(dst=N4("2001:db8:1::/48"), gateway=A("2001:db8:ffff::2"), oif=dummy0),
        Route(dst=N4("2001:db8:2::/48"), gateway=A("fe80::1"), oif=dummy0),
        Route(dst=N4("::/0"), oif=dummy0, table=100),
        Route(dst=N4("0.0.0.0/0"), gateway=A("10.99.0.1")),
    ]
    for r in routes:
        assert error_of(wire.add(r))[0] == 0, r
    key = lambda r: (r.table, r.family, str(r.dst))  # noqa: E731
    assert sorted(wire.routes(), key=key) == sorted(routes, key=key)


def test_get_exact(wire, dummy0):
    wire.add(r4("10.1.0.0/16", oif=dummy0))
    out = wire.exchange(nl.build_get(wire.next_seq(), N4("10.1.0.0/16"), ack=True))
    assert out[0].kind == "route" and out[0].route.dst == N4("10.1.0.0/16")
    out = wire.exchange(nl.build_get(wire.next_seq(), N4("10.1.0.0/24"), ack=True))
    assert error_of(out)[0] == errno.ENOENT
    out = wire.exchange(nl.build_get(wire.next_seq(), N4("10.1.0.0/16"), table=7, ack=True))
    assert error_of(out)[0] == errno.ENOENT


def test_lookup_longest_prefix(wire, dummy0):
    for dst in ("0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32"):
        wire.add(r4(dst, oif=dummy0))
    cases = {
        "10.1.2.3": "10.1.2.3/32",
        "10.1.2.4": "10.1.2.0/24",
        "10.1.3.1": "10.1.0.0/16",
        "10.200.0.1": "10.0.0.0/8",
        "11.0.0.1": "0.0.0.0/0",
    }
    for addr, want in cases.items():
        out = wire.exchange(nl.build_lookup(wire.next_seq(), A(addr), ack=True))
        assert out[0].kind == "lookup" and out[0].route.dst == N4(want), addr


def test_lookup_miss_is_enetunreach(wire, dummy0):
    wire.add(r4("10.1.0.0/16", oif=dummy0))
    err, text, _ = error_of(wire.exchange(nl.build_lookup(wire.next_seq(), A("11.0.0.1"))))
    assert err == errno.ENETUNREACH and "no route" in text
    err, _, _ = error_of(wire.exchange(nl.build_lookup(wire.next_seq(), A("2001:db8::1"))))
    assert err == errno.ENETUNREACH


def test_bulk_lookup_in_order(wire, dummy0):
    wire.add(r4("10.0.0.0/8", oif=dummy0))
    wire.add(r4("10.1.0.0/16", oif=dummy0))
    addrs = [A("10.1.9.9"), A("11.0.0.1"), A("10.2.0.1")] * 700  # several skbs
    out = wire.exchange(nl.build_lookup_many(wire.next_seq(), addrs))
    assert out[-1].kind == "done" and not out[-1].error
    got = [m.lookup for m in out if m.kind == "lookup"]
    assert [g.addr for g in got] == addrs
    want = [N4("10.1.0.0/16"), None, N4("10.0.0.0/8")] * 700
    assert [g.route.dst if g.route else None for g in got] == want


def test_bulk_lookup_limits(wire):
    too_many = b"".join(a4("10.0.0.1") for _ in range(P.RTMGR_MAX_LOOKUP_ADDRS + 1))
    flags = P.NLM_F_REQUEST | P.NLM_F_DUMP
    err, text, off = error_of(wire.raw(P.RTMGR_MSG_LOOKUP, flags, hdr(), attr(P.RTMGR_A_ADDRS, too_many)))
    assert err == errno.E2BIG and "RTMGR_MAX_LOOKUP_ADDRS" in text and off == 24
    err, text, _ = error_of(wire.raw(P.RTMGR_MSG_LOOKUP, flags, hdr(), attr(P.RTMGR_A_ADDRS, b"\1" * 6)))
    assert err == errno.EINVAL and "whole number" in text


def test_flush_counts_and_filters(wire, dummy0, dummy1):
    for i in range(20):
        wire.add(r4(f"10.{i}.0.0/16", gw=None, oif=dummy0 if i % 2 else dummy1))
    wire.add(Route(dst=N4("2001:db8:1::/48"), oif=dummy0))
    assert wire.flush(Filter(oif=dummy1)) == 10
    assert wire.flush(Filter(family=6)) == 1
    assert wire.flush(Filter(family=4, prefix=N4("10.0.0.0/12"), match=Match.ROOT)) == 8
    assert len(wire.routes()) == 2
    assert wire.flush() == 2
    assert wire.flush() == 0


def test_stats(wire, dummy0):
    base = wire.stats()
    for i in range(10):
        wire.add(r4(f"10.{i}.0.0/16", oif=dummy0))
    wire.add(Route(dst=N4("2001:db8:1::/48"), oif=dummy0, table=42))
    s = wire.stats()
    assert (s.routes4, s.routes6, s.table_count, s.tables) == (10, 1, 2, ())
    out = wire.exchange(nl.build_stats(wire.next_seq(), tables=True))
    assert [m.kind for m in out] == ["stats"] * 3 + ["done"]
    assert [(t.table, t.family, t.routes) for m in out[1:3] for t in m.stats.tables] == [(42, 6, 1), (254, 4, 10)]
    assert s.memory > 0 and s.generation > base.generation
    assert s.requests > base.requests
    wire.add(r4("10.0.0.0/16", oif=dummy0))  # EEXIST
    assert wire.stats().errors == s.errors + 1
    wire.flush()
    assert wire.stats().memory == 0


def test_max_routes(wire, dummy0):
    with open("/sys/module/rtmgr/parameters/max_routes", "w") as f:
        f.write("5")
    for i in range(5):
        assert error_of(wire.add(r4(f"10.{i}.0.0/16", oif=dummy0)))[0] == 0
    err, text, _ = error_of(wire.add(r4("10.9.0.0/16", oif=dummy0)))
    assert err == errno.ENOSPC and "max_routes" in text
    # replacing an existing route is no new route: still allowed
    assert error_of(wire.route(nl.NEWROUTE, nl.REPLACE_FLAGS, r4("10.0.0.0/16", oif=dummy0)))[0] == 0
    assert len(wire.routes()) == 5
    assert wire.stats().max_routes == 5


# ---- refusals ------------------------------------------------------------------


def dst4(text="10.1.0.0"):
    return attr(P.RTMGR_A_DST, a4(text))


ADD = P.NLM_F_REQUEST | P.NLM_F_ACK | P.NLM_F_CREATE | P.NLM_F_EXCL

REFUSALS = [
    # (name, type, flags, header, attributes, errno, text in the ext ack, offset blamed)
    ("unknown type", 40, REQ_ACK, hdr(), b"", errno.EOPNOTSUPP, "unknown message type", None),
    ("short header", P.RTMGR_MSG_NEWROUTE, ADD, b"\2\x10", b"", errno.EINVAL, "too short", None),
    ("bad family", P.RTMGR_MSG_NEWROUTE, ADD, hdr(7, 16), dst4(), errno.EAFNOSUPPORT, "family", None),
    ("no dst", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "RTMGR_A_DST", None),
    ("host bits", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 8), dst4() + attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "host bits", 24),
    ("plen", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 33), dst4() + attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "prefix length", 24),
    ("dst size", P.RTMGR_MSG_NEWROUTE, ADD, hdr(10, 16), dst4() + attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "16 bytes", 24),
    ("unknown attr", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(60, b"x"), errno.EINVAL, "", 32),
    ("attr not taken", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_COUNT, u32(1)), errno.EINVAL, "", 32),
    ("oif size", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_OIF, b"\1\0"), errno.EINVAL, "", 32),
    ("flags", P.RTMGR_MSG_DELROUTE, REQ_ACK | P.NLM_F_CREATE, hdr(2, 16), dst4(), errno.EINVAL, "flags", None),
    ("excl+replace", P.RTMGR_MSG_NEWROUTE, ADD | P.NLM_F_REPLACE, hdr(2, 16), dst4(), errno.EINVAL, "exclude", None),
    ("no create", P.RTMGR_MSG_NEWROUTE, REQ_ACK, hdr(2, 16), dst4() + attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "NLM_F_CREATE", None),
    ("unicast needs nh", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4(), errno.EINVAL, "needs a gateway", None),
    ("blackhole with gw", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16, P.RTMGR_TYPE_BLACKHOLE), dst4() + attr(P.RTMGR_A_GATEWAY, a4("10.99.0.2")), errno.EINVAL, "take no gateway", None),
    ("bad type", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16, 77), dst4() + attr(P.RTMGR_A_OIF, u32(1)), errno.EINVAL, "route type", None),
    ("gw zero", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_GATEWAY, a4("0.0.0.0")), errno.EINVAL, "unspecified", 32),
    ("gw multicast", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_GATEWAY, a4("224.0.0.1")), errno.EINVAL, "multicast", 32),
    ("gw family", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_GATEWAY, a6("2001:db8::1")), errno.EINVAL, "4 bytes", 32),
    ("link-local gw", P.RTMGR_MSG_NEWROUTE, ADD, hdr(10, 48), attr(P.RTMGR_A_DST, a6("2001:db8:1::")) + attr(P.RTMGR_A_GATEWAY, a6("fe80::1")), errno.EINVAL, "link-local", 44),
    ("no device", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_OIF, u32(99999)), errno.ENODEV, "device", 32),
    ("both nh forms", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_OIF, u32(1)) + nest(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_OIF, u32(1)))), errno.EINVAL, "not both", 40),
    ("empty multipath", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, b""), errno.EINVAL, "empty", 32),
    ("hop w/o gw or dev", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_WEIGHT, u32(2)))), errno.EINVAL, "gateway or a device", 36),
    ("weight 0", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_OIF, u32(1)) + attr(P.RTMGR_A_NH_WEIGHT, u32(0)))), errno.ERANGE, "", None),
    ("weight 257", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_OIF, u32(1)) + attr(P.RTMGR_A_NH_WEIGHT, u32(257)))), errno.ERANGE, "", None),
    ("bad nest entry", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, nest(5, attr(P.RTMGR_A_NH_OIF, u32(1)))), errno.EINVAL, "", 36),
    ("duplicate hop", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + nest(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_OIF, u32(1))) * 2), errno.EINVAL, "duplicate", 48),
    ("nest flag missing", P.RTMGR_MSG_NEWROUTE, ADD, hdr(2, 16), dst4() + attr(P.RTMGR_A_MULTIPATH, nest(P.RTMGR_A_MP_NEXTHOP, attr(P.RTMGR_A_NH_OIF, u32(1)))), errno.EINVAL, "NLA_F_NESTED", 32),
    ("get with type", P.RTMGR_MSG_GETROUTE, REQ_ACK, hdr(2, 16, 1), dst4(), errno.EINVAL, "key only", None),
    ("lookup no addr", P.RTMGR_MSG_LOOKUP, REQ_ACK, hdr(2), b"", errno.EINVAL, "RTMGR_A_ADDR", None),
    ("lookup family", P.RTMGR_MSG_LOOKUP, REQ_ACK, hdr(0), attr(P.RTMGR_A_ADDR, a4("10.0.0.1")), errno.EAFNOSUPPORT, "family", None),
    ("stats header", P.RTMGR_MSG_GETSTATS, REQ_ACK, hdr(2), b"", errno.EINVAL, "all-zero", None),
    ("stats attr", P.RTMGR_MSG_GETSTATS, REQ_ACK, hdr(0), attr(P.RTMGR_A_DST, a4("10.0.0.0")), errno.EINVAL, "", 24),
    ("dump partial flag", P.RTMGR_MSG_GETROUTE, P.NLM_F_REQUEST | P.NLM_F_ROOT, hdr(0), b"", errno.EINVAL, "NLM_F_DUMP", None),
    ("filter addr w/o family", P.RTMGR_MSG_GETROUTE, P.NLM_F_REQUEST | P.NLM_F_DUMP, hdr(0, 8), dst4("10.0.0.0"), errno.EINVAL, "needs a family", 24),
    ("match w/o dst", P.RTMGR_MSG_FLUSH, REQ_ACK, hdr(0), attr(P.RTMGR_A_MATCH, b"\1"), errno.EINVAL, "needs RTMGR_A_DST", 24),
    ("match value", P.RTMGR_MSG_FLUSH, REQ_ACK, hdr(2, 8), dst4("10.0.0.0") + attr(P.RTMGR_A_MATCH, b"\7"), errno.ERANGE, "", 32),
    ("filter host bits", P.RTMGR_MSG_FLUSH, REQ_ACK, hdr(2, 8), dst4("10.1.0.0"), errno.EINVAL, "host bits", 24),
    # found by stress/fuzz.py: a flush on device 0 took the routes without a device
    ("filter device 0", P.RTMGR_MSG_FLUSH, REQ_ACK, hdr(0), attr(P.RTMGR_A_OIF, u32(0)), errno.EINVAL, "index 0", 24),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals(wire, dummy0, case):
    name, mtype, flags, header, attrs, want, text, offset = case
    attrs = attrs.replace(u32(1), u32(dummy0)) if name not in ("no device",) else attrs
    wire.add(r4("10.50.0.0/16", oif=dummy0))
    before = wire.routes()
    gen = wire.stats().generation
    err, ext, off = error_of(wire.raw(mtype, flags, header, attrs))
    assert err == want, (ext, off)
    assert ext, "every refusal says why"
    assert text in ext
    if offset is not None:
        assert off == offset
    assert wire.routes() == before and wire.stats().generation == gen, "a refusal changes nothing"
