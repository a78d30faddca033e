"""Malformed input: every kind of lie a buffer can tell ends as a clean
record (or no record), never an exception, a crash or a hang."""

import errno
import re
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rtshell import netlink as nl, protocol as P

GOLDEN = Path(__file__).resolve().parent / "golden"
NEW, DEL, LOOKUP, FLUSH, STATS = (P.RTMGR_MSG_NEWROUTE, P.RTMGR_MSG_DELROUTE, P.RTMGR_MSG_LOOKUP,
                                  P.RTMGR_MSG_FLUSH, P.RTMGR_MSG_GETSTATS)
NESTED = P.NLA_F_NESTED


def golden(name: str) -> bytes:
    return bytes.fromhex(re.sub(r"#.*", "", (GOLDEN / f"{name}.hex").read_text()))


def msg(mtype, payload=b"", flags=0, seq=1, length=None):
    n = 16 + len(payload) if length is None else length
    return struct.pack("=IHHII", n, mtype, flags, seq, 77) + payload


def hdr(family=2, dst_len=24, rtype=1, proto=0, table=254):
    return struct.pack("=BBBBI", family, dst_len, rtype, proto, table)


def attr(atype, data=b"", length=None):
    n = 4 + len(data) if length is None else length
    raw = struct.pack("=HH", n, atype) + data
    return raw + b"\0" * (-len(raw) % 4)


def u32(v):
    return struct.pack("=I", v)


DST = attr(P.RTMGR_A_DST, bytes([10, 0, 0, 0]))
GOOD = msg(NEW, hdr() + DST + attr(P.RTMGR_A_OIF, u32(1)))


def only(buf):
    (m,) = nl.parse(buf)
    return m


def bad(buf, reason):
    m = only(buf)
    assert m.kind == "malformed" and m.error == errno.EBADMSG, m
    assert reason in m.reason, m.reason
    return m


def test_the_good_one_is_good():
    m = only(GOOD)
    assert m.kind == "route" and str(m.route.dst) == "10.0.0.0/24"


def test_empty_buffer():
    assert nl.parse(b"") == []


@pytest.mark.parametrize("n", range(1, 16))
def test_truncated_header(n):
    bad(GOOD[:n], "truncated netlink header")


@pytest.mark.parametrize("length", [0, 1, 15, len(GOOD) + 1, 0xFFFFFFFF])
def test_lying_nlmsg_len(length):
    data = struct.pack("=I", length) + GOOD[4:]
    bad(data, "nlmsg_len")


def test_a_bad_header_ends_the_walk_after_good_messages():
    ms = nl.parse(GOOD + GOOD + GOOD[:30])
    assert [m.kind for m in ms] == ["route", "route", "malformed"]
    assert "nlmsg_len" in ms[2].reason


def test_a_bad_body_does_not_stop_the_walk():
    broken = msg(NEW, hdr() + attr(P.RTMGR_A_DST, b"\x0a\x00\x00"))  # 3-byte address
    ms = nl.parse(GOOD + broken + GOOD)
    assert [m.kind for m in ms] == ["route", "malformed", "route"]
    assert ms[1].seq == 1 and ms[1].pid == 77


def test_payload_shorter_than_the_rtmgr_header():
    for mtype in (NEW, DEL, LOOKUP, FLUSH, STATS):
        bad(msg(mtype, b"\x02\x18\x01"), "shorter than its fixed header")


@pytest.mark.parametrize(
    "attrs, reason",
    [
        (attr(P.RTMGR_A_OIF, u32(1), length=0), "zero, short or overlong"),
        (attr(P.RTMGR_A_OIF, u32(1), length=3), "zero, short or overlong"),
        (attr(P.RTMGR_A_OIF, u32(1), length=200), "zero, short or overlong"),
        (b"\x08\x00", "zero, short or overlong"),  # trailing bytes
        (attr(P.RTMGR_A_MAX + 1, u32(1)), "not carried"),
        (attr(0x3FFF, u32(1)), "not carried"),
        (attr(P.RTMGR_A_UNSPEC, u32(1)), "not carried"),
        (attr(P.RTMGR_A_COUNT, u32(1)), "not carried"),
        (attr(P.RTMGR_A_ADDRS, bytes(8)), "not carried"),
        (attr(P.RTMGR_A_OIF, b"\x01\x00"), "wrong size"),
        (attr(P.RTMGR_A_METRIC, bytes(8)), "wrong size"),
        (attr(P.RTMGR_A_CREATED, u32(1)), "wrong size"),
        (attr(P.RTMGR_A_GATEWAY, bytes(16)), "wrong size"),
    ],
)
def test_bad_attributes(attrs, reason):
    bad(msg(NEW, hdr() + DST + attrs), reason)


def test_overlong_attribute_points_at_itself():
    m = bad(msg(NEW, hdr() + DST + attr(P.RTMGR_A_OIF, u32(1), length=9)), "overlong")
    assert "byte 32" in m.reason  # 16 + 8 + 8


def test_bad_family_and_prefixes():
    bad(msg(NEW, hdr(family=7) + DST), "family")
    bad(msg(NEW, hdr(dst_len=33) + DST), "prefix")
    bad(msg(NEW, hdr(dst_len=8) + attr(P.RTMGR_A_DST, bytes([10, 0, 0, 1]))), "host bits")
    bad(msg(NEW, hdr(family=10, dst_len=129) + attr(P.RTMGR_A_DST, bytes(16))), "prefix")
    bad(msg(NEW, hdr(rtype=P.RTMGR_TYPE_MAX + 1) + DST), "out of range")
    bad(msg(NEW, hdr() + attr(P.RTMGR_A_OIF, u32(1))), "missing")
    # the default route may leave its all-zero prefix out
    assert str(only(msg(NEW, hdr(dst_len=0))).route.dst) == "0.0.0.0/0"


def nh(*attrs):
    return attr(P.RTMGR_A_MP_NEXTHOP | NESTED, b"".join(attrs))


def mp(*hops):
    return attr(P.RTMGR_A_MULTIPATH | NESTED, b"".join(hops))


@pytest.mark.parametrize(
    "multipath, reason",
    [
        (mp(), "nested"),  # no next hop
        (mp(attr(2 | NESTED, attr(P.RTMGR_A_NH_OIF, u32(1)))), "nested"),  # not MP_NEXTHOP
        (mp(nh(attr(P.RTMGR_A_NH_MAX + 1, u32(1)))), "nested"),  # unknown inside
        (mp(nh(attr(P.RTMGR_A_NH_UNSPEC, u32(1)))), "nested"),
        (mp(nh(attr(P.RTMGR_A_NH_OIF, u32(1), length=0))), "nested"),  # zero-length inside
        (mp(nh(attr(P.RTMGR_A_NH_OIF, b"\x01"))), "wrong size"),
        (mp(nh(attr(P.RTMGR_A_NH_GATEWAY, bytes(16)))), "wrong size"),
        (attr(P.RTMGR_A_MULTIPATH | NESTED, nh(attr(P.RTMGR_A_NH_OIF, u32(1))) + b"\x01\x02"), "nested"),
        (mp(*[nh(attr(P.RTMGR_A_NH_OIF, u32(i + 1))) for i in range(P.RTMGR_MAX_NEXTHOPS + 1)]), "RTMGR_MAX_NEXTHOPS"),
    ],
)
def test_bad_multipath(multipath, reason):
    bad(msg(NEW, hdr() + DST + multipath), reason)


def test_multipath_at_the_limit_is_fine():
    m = only(msg(NEW, hdr() + DST + mp(*[nh(attr(P.RTMGR_A_NH_OIF, u32(i + 1))) for i in range(P.RTMGR_MAX_NEXTHOPS)])))
    assert m.kind == "route" and len(m.route.nexthops) == P.RTMGR_MAX_NEXTHOPS
    assert m.route.nexthops[-1].oif == P.RTMGR_MAX_NEXTHOPS and m.route.nexthops[0].weight == 1


def test_bad_lookup_replies():
    addr = attr(P.RTMGR_A_ADDR, bytes([10, 0, 0, 1]))
    bad(msg(LOOKUP, hdr(rtype=0, dst_len=0)), "missing")  # no ADDR
    bad(msg(LOOKUP, hdr(rtype=0, dst_len=0) + addr + attr(P.RTMGR_A_GATEWAY, bytes(4))), "missing")
    bad(msg(LOOKUP, hdr(family=0) + addr), "family")
    bad(msg(LOOKUP, hdr(family=10) + addr), "wrong size")
    assert only(msg(LOOKUP, hdr(rtype=0, dst_len=0) + addr)).lookup.route is None


def test_bad_flush_messages():
    bad(msg(FLUSH, hdr(family=0, dst_len=8) + DST), "family")  # a prefix needs a family
    bad(msg(FLUSH, hdr(family=3)), "family")
    bad(msg(FLUSH, hdr() + DST + attr(P.RTMGR_A_MATCH, b"\x07")), "out of range")
    bad(msg(FLUSH, hdr() + DST + attr(P.RTMGR_A_MATCH, u32(1))), "wrong size")
    bad(msg(FLUSH, hdr() + attr(P.RTMGR_A_COUNT, b"\x01")), "wrong size")
    bad(msg(FLUSH, hdr() + attr(P.RTMGR_A_MULTIPATH | NESTED)), "not carried")


def stats(*inner):
    return msg(STATS, hdr(0, 0, 0, 0, 0) + attr(P.RTMGR_A_STATS | NESTED, b"".join(inner)))


def test_bad_stats():
    bad(msg(STATS, hdr(0, 0, 0, 0, 0)), "missing")
    bad(stats(attr(P.RTMGR_A_STATS_MAX + 1, u32(1))), "nested")
    bad(stats(attr(P.RTMGR_A_STATS_UNSPEC, u32(1))), "nested")
    bad(stats(attr(P.RTMGR_A_STATS_MEMORY, u32(1))), "nested")  # u64 as 4 bytes
    bad(stats(attr(P.RTMGR_A_STATS_TABLE | NESTED, attr(P.RTMGR_A_TS_FAMILY, u32(2)))), "nested")
    bad(stats(attr(P.RTMGR_A_STATS_TABLE | NESTED, attr(P.RTMGR_A_TS_MAX + 1, u32(2)))), "nested")
    bad(stats(attr(P.RTMGR_A_STATS_ROUTES4, u32(1)), b"\x00\x00"), "nested")
    assert only(stats(attr(P.RTMGR_A_STATS_ROUTES4, u32(9)))).stats.routes4 == 9


def err(error, echoed=b"", flags=P.NLM_F_CAPPED, tlvs=b"", reqlen=16):
    req = struct.pack("=IHHII", reqlen, NEW, 5, 1, 0)
    return msg(P.NLMSG_ERROR, struct.pack("=i", error) + req + echoed + tlvs, flags=flags)


def test_bad_errors():
    bad(msg(P.NLMSG_ERROR, struct.pack("=i", -1) + bytes(8)), "shorter")
    bad(err(5), "error number")
    bad(err(-5000), "error number")
    bad(err(-2**31), "error number")
    bad(err(-22, flags=0, reqlen=400), "embedded request")  # echo claims more than there is
    bad(err(-22, flags=0, reqlen=8), "embedded request")
    bad(err(-22, flags=P.NLM_F_CAPPED | P.NLM_F_ACK_TLVS, tlvs=attr(P.NLMSGERR_ATTR_MSG, b"x\0", length=0)),
        "zero, short or overlong")
    bad(err(-22, flags=P.NLM_F_CAPPED | P.NLM_F_ACK_TLVS, tlvs=attr(P.NLMSGERR_ATTR_OFFS, b"\x01\x00")),
        "wrong size")
    bad(msg(P.NLMSG_DONE, b"\x00\x00"), "shorter")
    bad(msg(P.NLMSG_DONE, struct.pack("=i", 3)), "error number")


def test_odd_but_valid_acks():
    # TLVs the parser does not know, and a message text without its NUL
    tlvs = attr(P.NLMSGERR_ATTR_MSG, b"no nul") + attr(99, b"cookie")
    m = only(err(-22, flags=P.NLM_F_CAPPED | P.NLM_F_ACK_TLVS, tlvs=tlvs))
    assert m.kind == "error" and m.ext_ack == "no nul" and m.offset is None
    # text bytes that are not UTF-8 are replaced, not raised on
    m = only(err(-22, flags=P.NLM_F_CAPPED | P.NLM_F_ACK_TLVS, tlvs=attr(P.NLMSGERR_ATTR_MSG, b"\xff\xfe\0")))
    assert m.ext_ack == "\ufffd\ufffd"
    # TLVs without NLM_F_ACK_TLVS are not read
    assert only(err(-22, tlvs=attr(P.NLMSGERR_ATTR_MSG, b"hidden\0"))).ext_ack is None
    # a DONE without its int
    assert only(msg(P.NLMSG_DONE)).kind == "done"


def test_types_the_parser_does_not_read():
    for mtype in (P.NLMSG_NOOP, P.NLMSG_OVERRUN, P.RTMGR_MSG_GETROUTE, P.RTMGR_MSG_MAX + 1, 0xFFFF):
        m = only(msg(mtype, b"\x01\x02\x03\x04"))
        assert m.kind == "other" and m.type == mtype


def test_unaligned_lengths_do_not_derail_the_walk():
    odd = msg(P.NLMSG_NOOP, b"\x01", length=17)  # next message at 20
    ms = nl.parse(odd + b"\0\0\0" + GOOD)
    assert [m.kind for m in ms] == ["other", "route"]
    # the last message's padding may be missing
    assert [m.kind for m in nl.parse(GOOD + odd)] == ["route", "other"]


def test_every_truncation_of_every_golden():
    for path in sorted(GOLDEN.glob("*.hex")):
        data = golden(path.stem)
        whole = nl.parse(data)
        for cut in range(len(data)):
            ms = nl.parse(data[:cut])
            assert all(m.kind in nl._KINDS.values() for m in ms)
            # the messages before the cut are intact
            intact = [m for m in ms if m.kind != "malformed"]
            assert intact == whole[: len(intact)]


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes(data):
    ms = nl.parse(data)
    assert len(ms) <= max(1, len(data) // 16 + 1)
    for m in ms:
        if m.kind == "malformed":
            assert m.reason and m.error == errno.EBADMSG
    assert isinstance(nl.decode(data), str)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(p.stem for p in GOLDEN.glob("*.hex"))),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_goldens(name, edits):
    data = bytearray(golden(name))
    for pos, value in edits:
        data[pos % len(data)] = value
    for m in nl.parse(bytes(data)):
        assert m.kind in nl._KINDS.values()
    assert nl.decode(bytes(data)).count("\n") >= 1
