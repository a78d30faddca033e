"""The parser on hand-written kernel-style replies, round trips build -> parse
for random routes and filters, and buffers larger than the result arrays."""

import errno
import ipaddress
import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rtshell import errors, netlink as nl, protocol as P
from rtshell.model import Filter, LookupResult, Match, NextHop, Route, RouteType, Stats, TableStats

GOLDEN = Path(__file__).resolve().parent / "golden"


def golden(name: str) -> bytes:
    text = (GOLDEN / f"{name}.hex").read_text()
    return bytes.fromhex(re.sub(r"#.*", "", text))


def net(text):
    return ipaddress.ip_network(text)


def addr(text):
    return ipaddress.ip_address(text)


ROUTE_V4 = Route(dst=net("10.0.0.0/24"), gateway=addr("192.0.2.1"), oif=2, metric=100, proto=3)
ROUTE_V6_MP = Route(
    dst=net("2001:db8::/32"), nexthops=(NextHop(addr("fe80::1"), 2, 3), NextHop(None, 5, 1))
)


def test_route_with_times_and_padding():
    (m,) = nl.parse(golden("rep_route_v4_dump"))
    assert (m.kind, m.type, m.seq, m.pid, m.multi, m.dump_intr) == ("route", P.RTMGR_MSG_NEWROUTE, 13, 1234, True, False)
    assert m.route == ROUTE_V4
    assert m.route.created == 1700000000000000000 and m.route.changed == 1700000001000000000
    assert m.route.type is RouteType.UNICAST and m.route.table == 254
    assert m.error is None and m.ext_ack is None


def test_multipath_notification():
    (m,) = nl.parse(golden("rep_notify_newroute_multipath_v6"))
    assert (m.kind, m.seq, m.pid, m.multi) == ("route", 8, 4242, False)
    assert m.route == ROUTE_V6_MP
    assert m.route.gateway is None and m.route.oif is None
    assert m.route.created is None


def test_delroute_notification():
    (m,) = nl.parse(golden("rep_notify_delroute_v4"))
    assert (m.kind, m.type, m.seq, m.pid) == ("route", P.RTMGR_MSG_DELROUTE, 11, 4242)
    assert m.route == ROUTE_V4


def test_lookup_hit():
    (m,) = nl.parse(golden("rep_lookup_hit_v4"))
    assert m.kind == "lookup" and m.seq == 17
    assert m.lookup == LookupResult(addr("10.0.0.1"), ROUTE_V4)
    assert m.route == ROUTE_V4


def test_bulk_lookup_hit_miss_done():
    hit, miss, done = nl.parse(golden("rep_lookup_many_v6"))
    want = Route(dst=net("2001:db8::/32"), table=100, gateway=addr("fe80::1"))
    assert hit.kind == "lookup" and hit.multi and hit.lookup == LookupResult(addr("2001:db8::1"), want)
    assert miss.kind == "lookup" and miss.multi and miss.route is None
    assert miss.lookup == LookupResult(addr("2001:db9::2"), None)
    assert done.kind == "done" and done.error == 0 and done.multi and done.seq == 18


def test_flush_answer_then_ack():
    flush, ack = nl.parse(golden("rep_flush_count_ack"))
    assert flush.kind == "flush" and flush.count == 3 and flush.seq == 15
    assert flush.filter == Filter(table=100)
    assert ack.kind == "ack" and ack.error == 0 and ack.seq == 15
    assert ack.request_type == P.RTMGR_MSG_FLUSH and ack.request_seq == 15
    assert ack.ext_ack is None and ack.offset is None


def test_flush_notification_filter():
    (m,) = nl.parse(golden("rep_notify_flush_filter"))
    assert m.kind == "flush" and m.count == 7 and m.pid == 4242
    assert m.filter == Filter(family=4, table=100, proto=4, oif=3, prefix=net("10.0.0.0/8"), match=Match.ROOT)


def test_stats_with_tables():
    (m,) = nl.parse(golden("rep_stats"))
    assert m.kind == "stats" and m.seq == 19
    assert m.stats == Stats(
        routes4=10,
        routes6=3,
        tables=(TableStats(254, 4, 10), TableStats(100, 6, 3)),
        memory=123456789,
        generation=42,
        requests=987654321012,
        errors=5,
        max_routes=1000000,
    )


def test_ack():
    (m,) = nl.parse(golden("rep_ack"))
    assert (m.kind, m.error, m.seq, m.pid, m.request_type, m.request_seq) == ("ack", 0, 7, 4242, 16, 7)
    assert m.flags == P.NLM_F_CAPPED


def test_error_with_ext_ack_and_offset():
    (m,) = nl.parse(golden("rep_error_extack"))
    assert m.kind == "error" and m.error == errno.EEXIST
    assert m.ext_ack == "route exists" and m.offset == 24
    assert m.request_type == P.RTMGR_MSG_NEWROUTE and m.request_seq == 7
    assert m.is_error


def test_error_with_the_request_echoed():
    (m,) = nl.parse(golden("rep_error_uncapped"))
    assert m.kind == "error" and m.error == errno.EINVAL
    assert m.ext_ack == "prefix has host bits set" and m.offset == 24
    assert m.request_type == P.RTMGR_MSG_GETROUTE and m.request_seq == 12


def test_dump_interrupted():
    a, b, done = nl.parse(golden("rep_dump_intr"))
    assert a.kind == b.kind == "route" and a.multi and b.multi
    assert not a.dump_intr and b.dump_intr and done.dump_intr and done.kind == "done"
    assert a.route == Route(dst=net("10.0.0.0/24"), gateway=addr("192.0.2.1"), oif=2)
    assert b.route == Route(dst=net("192.0.2.0/24"), type=RouteType.BLACKHOLE, proto=4)


def test_done_carrying_an_error():
    (m,) = nl.parse(golden("rep_done_error"))
    assert m.kind == "done" and m.error == errno.EINVAL and m.ext_ack == "bad filter"
    assert m.is_error and m.request_type is None


def test_all_replies_in_one_buffer():
    names = sorted(p.stem for p in GOLDEN.glob("rep_*.hex"))
    single = [m for n in names for m in nl.parse(golden(n))]
    joined = nl.parse(b"".join(golden(n) for n in names))
    assert joined == single
    assert all(m.kind != "malformed" for m in joined)


def test_requests_parse_where_they_share_the_reply_layout():
    (m,) = nl.parse(golden("req_newroute_add_v4"))
    assert m.kind == "route" and m.route == Route(dst=net("10.0.0.0/24"), gateway=addr("192.0.2.1"), oif=2, metric=100)
    (m,) = nl.parse(golden("req_dump_all"))
    assert m.kind == "other" and m.type == P.RTMGR_MSG_GETROUTE


# ---- more messages than the result arrays hold ------------------------------------


def test_buffers_larger_than_the_result_arrays():
    routes = [Route(dst=ipaddress.ip_network((0x0A000000 + (i << 8), 24)), oif=i + 1) for i in range(1500)]
    data = b"".join(nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, i, r) for i, r in enumerate(routes))
    data += struct.pack("=IHHIIi", 20, P.NLMSG_DONE, P.NLM_F_MULTI, 0, 0, 0) * 1200
    msgs = nl.parse(data)
    assert [m.route for m in msgs[:1500]] == routes
    assert [m.seq for m in msgs[:1500]] == list(range(1500))
    assert len(msgs) == 2700 and all(m.kind == "done" for m in msgs[1500:])


def _stats_msg(tables: int, seq: int) -> bytes:
    inner = b""
    for t in range(tables):
        nest = struct.pack("=HHI", 8, 1, t + 1) + struct.pack("=HHBxxx", 5, 2, 2) + struct.pack("=HHI", 8, 3, t)
        inner += struct.pack("=HH", 4 + len(nest), 0x8003) + nest
    body = struct.pack("=BBBBI", 0, 0, 0, 0, 0) + struct.pack("=HH", 4 + len(inner), 0x800C) + inner
    return struct.pack("=IHHII", 16 + len(body), P.RTMGR_MSG_GETSTATS, 0, seq, 0) + body


def test_stats_tables_overflowing_the_array_resume():
    # each message alone fits the per-thread array; together they do not
    data = _stats_msg(700, 1) + _stats_msg(700, 2)
    a, b = nl.parse(data)
    assert a.kind == b.kind == "stats" and (a.seq, b.seq) == (1, 2)
    assert len(a.stats.tables) == len(b.stats.tables) == 700
    assert b.stats.tables[-1] == TableStats(700, 4, 699)
    # one message with more tables than the array is reported, not truncated
    (m,) = nl.parse(_stats_msg(1100, 3))
    assert m.kind == "malformed" and "per-table" in m.reason


# ---- round trips ----------------------------------------------------------------------------

u32 = st.integers(0, 2**32 - 1)
v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@st.composite
def networks(draw, version):
    bits = 32 if version == 4 else 128
    plen = draw(st.integers(0, bits))
    raw = draw(st.integers(0, 2**bits - 1))
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return cls((raw >> (bits - plen) << (bits - plen) if plen else 0, plen))


@st.composite
def routes(draw):
    version = draw(st.sampled_from([4, 6]))
    addrs = v4 if version == 4 else v6
    kind = draw(st.sampled_from(["gw", "oif", "both", "multipath", "none"]))
    rtype = RouteType.UNICAST if kind != "none" else draw(st.sampled_from(list(RouteType)[2:]))
    gateway = draw(addrs) if kind in ("gw", "both") else None
    oif = draw(st.integers(1, 2**32 - 1)) if kind in ("oif", "both") else None
    hops = ()
    if kind == "multipath":
        hops = tuple(
            draw(
                st.lists(
                    st.builds(
                        NextHop,
                        st.one_of(st.none(), addrs),
                        st.one_of(st.none(), st.integers(1, 2**32 - 1)),
                        st.integers(1, 256),
                    ),
                    min_size=2,
                    max_size=P.RTMGR_MAX_NEXTHOPS,
                )
            )
        )
    return Route(
        dst=draw(networks(version)),
        table=draw(st.integers(1, 2**32 - 1)),
        type=rtype,
        proto=draw(st.integers(0, 255)),
        metric=draw(u32),
        gateway=gateway,
        oif=oif,
        nexthops=hops,
    )


@st.composite
def filters(draw):
    version = draw(st.sampled_from([None, 4, 6]))
    addrs = v4 if version == 4 else v6
    spec = version is not None
    prefix = draw(st.one_of(st.none(), networks(version))) if spec else None
    return Filter(
        family=version if spec and draw(st.booleans()) or (spec and prefix is None) else None,
        table=draw(st.one_of(st.none(), st.integers(1, 2**32 - 1))),
        type=draw(st.one_of(st.none(), st.sampled_from(list(RouteType)[1:]))),
        proto=draw(st.one_of(st.none(), st.integers(1, 255))),
        oif=draw(st.one_of(st.none(), u32)),
        gateway=draw(st.one_of(st.none(), addrs)) if spec else None,
        metric=draw(st.one_of(st.none(), u32)),
        prefix=prefix,
        match=draw(st.sampled_from(list(Match))) if prefix is not None else Match.EXACT,
    )


FLAGS = st.sampled_from([nl.ADD_FLAGS, nl.REPLACE_FLAGS, nl.CHANGE_FLAGS, nl.APPEND_FLAGS | nl.ECHO])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routes(), FLAGS, u32)
def test_route_round_trip(route, flags, seq):
    (m,) = nl.parse(nl.build_route(nl.NEWROUTE, flags, seq, route))
    assert (m.kind, m.type, m.flags, m.seq) == ("route", nl.NEWROUTE, flags, seq)
    assert m.route == route


@settings(max_examples=200, deadline=None)
@given(routes(), u32)
def test_delete_round_trip(route, seq):
    route = Route(dst=route.dst, table=route.table, type=route.type, proto=route.proto,
                  metric=route.metric, gateway=route.gateway, oif=route.oif)
    (m,) = nl.parse(nl.build_route(nl.DELROUTE, nl.DELETE_FLAGS, seq, route, match_metric=True))
    assert m.kind == "route" and m.type == nl.DELROUTE and m.route == route


@settings(max_examples=300, deadline=None)
@given(filters(), u32)
def test_filter_round_trip_through_flush(flt, seq):
    (m,) = nl.parse(nl.build_flush(seq, flt))
    family = flt.family
    if family is None and (flt.prefix is not None or flt.gateway is not None):
        family = (flt.prefix or flt.gateway).version  # the builder makes it explicit
    want = Filter(**{**flt.__dict__, "family": family})
    assert m.kind == "flush" and m.filter == want and m.count is None


@settings(max_examples=100, deadline=None)
@given(st.lists(routes(), min_size=1, max_size=40), st.integers(200, 4000))
def test_batch_round_trip(rs, size):
    items = [(nl.NEWROUTE, nl.ADD_FLAGS, i, r) for i, r in enumerate(rs)]
    biggest = max(len(nl.build_route(*it)) for it in items)
    size = max(size, biggest)
    bufs = list(nl.BatchBuilder(size).pack(items))
    assert all(len(b) <= size for b in bufs)
    assert [m.route for b in bufs for m in nl.parse(b)] == rs


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.lists(v4, min_size=1, max_size=50), st.lists(v6, min_size=1, max_size=50)))
def test_lookup_round_trip(addrs):
    (m,) = nl.parse(nl.build_lookup(5, addrs[0], 7))
    assert m.kind == "lookup" and m.lookup == LookupResult(addrs[0], None)
    data = nl.build_lookup_many(6, addrs, 7)
    width = 4 if addrs[0].version == 4 else 16
    assert data[28:] == b"".join(a.packed for a in addrs) and len(data) == 28 + width * len(addrs)


@settings(max_examples=300, deadline=None)
@given(routes(), st.sampled_from([
    (nl.NEWROUTE, nl.ADD_FLAGS), (nl.NEWROUTE, nl.REPLACE_FLAGS & ~P.NLM_F_ACK),
    (nl.DELROUTE, nl.DELETE_FLAGS), (nl.DELROUTE, 0x1)]),
    st.sampled_from([None, True, False]), u32)
def test_batch_put_encodes_as_build_route(route, kind, match_metric, seq):
    """put() sends single-hop routes through rtm_batch_add_hop: same bytes as rtm_build_route."""
    msg_type, flags = kind
    if msg_type == nl.DELROUTE:
        route = Route(dst=route.dst, table=route.table, type=route.type, proto=route.proto,
                      metric=route.metric, gateway=route.gateway, oif=route.oif)
    else:
        match_metric = None
    b = nl.BatchBuilder(4096)
    assert b.put(msg_type, flags, seq, route, match_metric=match_metric)
    assert b.take() == nl.build_route(msg_type, flags, seq, route, match_metric=match_metric)


def test_batch_take_asks_an_ack_of_the_last_request_only():
    b = nl.BatchBuilder(4096)
    rs = [Route(dst=ipaddress.ip_network(f"10.0.{i}.0/24"), oif=2) for i in range(3)]
    for i, r in enumerate(rs):
        assert b.put(nl.NEWROUTE, nl.ADD_FLAGS & ~P.NLM_F_ACK, i + 1, r)
    msgs = nl.parse(b.take(ack_last=True))
    assert [bool(m.flags & P.NLM_F_ACK) for m in msgs] == [False, False, True]
    assert [m.route for m in msgs] == rs
    assert len(b) == 0
    with pytest.raises(errors.RtmgrError):
        b.take(ack_last=True)  # nothing to ask an ACK of


def test_batch_put_refuses_without_adding():
    b = nl.BatchBuilder(4096)
    v4 = ipaddress.ip_network("10.0.0.0/24")
    bad = [
        Route(dst=v4, gateway=ipaddress.ip_address("2001:db8::1")),  # families differ
        Route(dst=v4, table=2**32, oif=1),  # does not fit u32
        Route(dst=v4, oif=-1),
        Route(dst=v4, proto=256, oif=1),
    ]
    for r in bad:
        with pytest.raises(errors.InvalidRequest) as exc:
            b.put(nl.NEWROUTE, nl.ADD_FLAGS, 1, r)
        assert "route add 10.0.0.0/24" in str(exc.value)
        assert len(b) == 0 and b.pending == 0
    # full: False, nothing added
    small = nl.BatchBuilder(60)
    assert small.put(nl.NEWROUTE, nl.ADD_FLAGS, 1, Route(dst=v4, oif=1))
    assert not small.put(nl.NEWROUTE, nl.ADD_FLAGS, 2, Route(dst=v4, oif=1))
    assert len(small) == 1


@settings(max_examples=200, deadline=None)
@given(routes(), u32)
def test_parsed_route_is_a_plain_frozen_route(route, seq):
    """The parser builds Routes without the dataclass __init__ (model.route_from_wire):
    they must be indistinguishable from Route(...)."""
    import dataclasses
    import pickle

    (m,) = nl.parse(nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, seq, route))
    got = m.route
    made = Route(**{f.name: getattr(got, f.name) for f in dataclasses.fields(Route)})
    assert type(got) is Route and got == made and hash(got) == hash(made) and repr(got) == repr(made)
    assert vars(got) == vars(made) and list(vars(got)) == list(vars(made))
    assert pickle.loads(pickle.dumps(got)) == got
    assert dataclasses.replace(got, metric=7).metric == 7
    assert dataclasses.asdict(got) == dataclasses.asdict(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.table = 1


def test_route_type_unspec_on_the_wire_reads_as_unicast():
    data = nl.build_route(nl.NEWROUTE, 0, 1, Route(dst=ipaddress.ip_network("10.0.0.0/8"), oif=1,
                                                   type=RouteType.UNSPEC))
    assert data[16 + 2] == 0  # rtmgr_hdr.type
    (m,) = nl.parse(data)
    assert m.route.type is RouteType.UNICAST
    bad = bytearray(data)
    bad[16 + 2] = 200  # no such type: the C parser refuses it, Python never sees it
    (m,) = nl.parse(bytes(bad))
    assert m.kind == "malformed" and "out of range" in m.reason
