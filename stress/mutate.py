"""Requests to attack the module with: valid ones of every message type,
built by rtshell's own builders, then mutated by structure.

A request is taken apart into its netlink header, its 8-byte rtmgr header
and its attributes (nests taken apart too), changed where the kernel's
parser has decisions to make (types, lengths, values, counts, nesting,
order), and put back together; some mutations then lie in the bytes
themselves (``nlmsg_len``, ``nla_len``, cuts, trailing garbage), which no
structured form can say.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import struct
from dataclasses import dataclass, field
from typing import Callable, Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, Match, NextHop, Route, RouteType

NLMSG = struct.Struct("=IHHII")
NLA = struct.Struct("=HH")
NLA_F_NESTED = P.NLA_F_NESTED
NLA_F_NET_BYTEORDER = P.NLA_F_NET_BYTEORDER

CHANGE_TYPES = (P.RTMGR_MSG_NEWROUTE, P.RTMGR_MSG_DELROUTE, P.RTMGR_MSG_FLUSH)
MESSAGE_TYPES = tuple(range(P.RTMGR_MSG_BASE, P.RTMGR_MSG_MAX + 1))

FLAG_BITS = (P.NLM_F_REQUEST, P.NLM_F_MULTI, P.NLM_F_ACK, P.NLM_F_ECHO, P.NLM_F_DUMP_INTR,
             0x20, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x8000)

INTERESTING_U32 = (0, 1, 2, 3, 4, 7, 15, 16, 31, 32, 33, 64, 127, 128, 129, 254, 255, 256, 257,
                   0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
SPECIAL_ADDRS = tuple(ipaddress.ip_address(a) for a in (
    "fe80::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "127.0.0.1", "::ffff:10.99.0.2"))
INTERESTING_U8 = (0, 1, 2, 3, 4, 5, 6, 10, 24, 31, 32, 33, 48, 64, 127, 128, 129, 200, 254, 255)


# ---- the pool requests are drawn from: small, so that they collide ------------------------

@dataclass
class Pool:
    """Devices, keys and next hops shared by every generated request."""

    oifs: tuple[int, ...]
    tables: tuple[int, ...] = (P.RTMGR_TABLE_MAIN, 100, 200)
    metrics: tuple[int, ...] = (0, 10, 20)
    v4: tuple = field(default_factory=lambda: tuple(
        [ipaddress.ip_network(f"10.{a}.{b}.0/24") for a in range(3) for b in range(3)]
        + [ipaddress.ip_network(f"10.{a}.0.0/16") for a in range(3)]
        + [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("10.1.2.3/32")]))
    v6: tuple = field(default_factory=lambda: tuple(
        [ipaddress.ip_network(f"2001:db8:{a}::/48") for a in range(3)]
        + [ipaddress.ip_network(f"2001:db8:{a}:{b}::/64") for a in range(2) for b in range(2)]
        + [ipaddress.ip_network("::/0")]))
    gw4: tuple = tuple(ipaddress.ip_address(f"10.99.0.{i}") for i in (2, 3, 4, 5))
    gw6: tuple = tuple(ipaddress.ip_address(f"2001:db8:ffff::{i}") for i in (2, 3, 4))

    @classmethod
    def here(cls) -> "Pool":
        """The pool over this namespace's demo devices (scripts/vm-guest makes them)."""
        return cls(oifs=tuple(socket.if_nametoindex(n) for n in ("dummy0", "dummy1")))

    def prefix(self, rnd: random.Random, version: Optional[int] = None):
        version = version or rnd.choice((4, 4, 6))
        return rnd.choice(self.v4 if version == 4 else self.v6)

    def gateway(self, rnd: random.Random, version: int):
        return rnd.choice(self.gw4 if version == 4 else self.gw6)

    def route(self, rnd: random.Random) -> Route:
        dst = self.prefix(rnd)
        kind = rnd.random()
        common = dict(dst=dst, table=rnd.choice(self.tables), metric=rnd.choice(self.metrics),
                      proto=rnd.choice((0, 0, 4, 186)))
        if kind < 0.15:
            return Route(type=rnd.choice((RouteType.BLACKHOLE, RouteType.UNREACHABLE,
                                          RouteType.PROHIBIT)), **common)
        if kind < 0.35:
            hops = {}
            for _ in range(rnd.randint(2, 4)):
                gateway, oif = self.gateway(rnd, dst.version), rnd.choice(self.oifs)
                hops[gateway, oif] = NextHop(gateway=gateway, oif=oif, weight=rnd.randint(1, P.RTMGR_WEIGHT_MAX))
            return Route(nexthops=tuple(hops.values()), **common)
        gateway = self.gateway(rnd, dst.version) if rnd.random() < 0.7 else None
        oif = rnd.choice(self.oifs) if gateway is None or rnd.random() < 0.5 else None
        return Route(gateway=gateway, oif=oif, **common)

    def filter(self, rnd: random.Random) -> Optional[Filter]:
        if rnd.random() < 0.1:
            return None
        kw: dict = {}
        if rnd.random() < 0.6:
            kw["table"] = rnd.choice(self.tables)
        if rnd.random() < 0.5:
            kw["prefix"] = self.prefix(rnd)
            kw["family"] = kw["prefix"].version
            kw["match"] = rnd.choice(list(Match))
        elif rnd.random() < 0.3:
            kw["family"] = rnd.choice((4, 6))
        if rnd.random() < 0.2:
            kw["oif"] = rnd.choice(self.oifs)
        if rnd.random() < 0.2:
            kw["gateway"] = self.gateway(rnd, kw.get("family") or 4)
            kw["family"] = kw["gateway"].version
            if "prefix" in kw and kw["prefix"].version != kw["family"]:
                del kw["prefix"], kw["match"]
        if rnd.random() < 0.2:
            kw["metric"] = rnd.choice(self.metrics)
        if rnd.random() < 0.1:
            kw["type"] = rnd.choice(list(RouteType)[1:])
        if rnd.random() < 0.1:
            kw["proto"] = rnd.choice((4, 186))
        return Filter(**kw)

    def address(self, rnd: random.Random, version: int):
        net = self.prefix(rnd, version)
        return net.network_address + rnd.randrange(min(net.num_addresses, 1 << 16))


# ---- valid requests, one per kind -----------------------------------------------------------

def _route_request(verb: str) -> Callable[[Pool, random.Random], bytes]:
    msg_type, flags = nl.VERB_FLAGS[verb]

    def make(pool: Pool, rnd: random.Random) -> bytes:
        echo = nl.ECHO if rnd.random() < 0.1 else 0
        route = pool.route(rnd)
        if verb == "delete" and route.nexthops:  # a delete names one next hop at most
            hop = route.nexthops[0]
            route = Route(route.dst, table=route.table, metric=route.metric, gateway=hop.gateway, oif=hop.oif)
        return nl.build_route(msg_type, flags | echo, 0, route)
    return make


def _get(pool: Pool, rnd: random.Random) -> bytes:
    metric = rnd.choice((None,) + pool.metrics)
    return nl.build_get(0, pool.prefix(rnd), rnd.choice(pool.tables), ack=rnd.random() < 0.5, metric=metric)


def _dump(pool: Pool, rnd: random.Random) -> bytes:
    return nl.build_dump(0, pool.filter(rnd))


def _flush(pool: Pool, rnd: random.Random) -> bytes:
    return nl.build_flush(0, pool.filter(rnd), ack=rnd.random() < 0.8)


def _lookup(pool: Pool, rnd: random.Random) -> bytes:
    return nl.build_lookup(0, pool.address(rnd, rnd.choice((4, 6))), rnd.choice(pool.tables),
                           ack=rnd.random() < 0.5)


def _lookup_many(pool: Pool, rnd: random.Random) -> bytes:
    version = rnd.choice((4, 6))
    n = P.RTMGR_MAX_LOOKUP_ADDRS if rnd.random() < 0.05 else rnd.choice((1, 2, 17, 64, 300))  # m_addrs goes past it
    return nl.build_lookup_many(0, [pool.address(rnd, version) for _ in range(n)], rnd.choice(pool.tables))


def _stats(pool: Pool, rnd: random.Random) -> bytes:
    return nl.build_stats(0, ack=rnd.random() < 0.5, tables=rnd.random() < 0.3)


#: kind of valid request -> (weight, maker); every message type is here
SEEDS: dict[str, tuple[int, Callable[[Pool, random.Random], bytes]]] = {
    "add": (30, _route_request("add")),
    "replace": (10, _route_request("replace")),
    "change": (6, _route_request("change")),
    "append": (8, _route_request("append")),
    "delete": (14, _route_request("delete")),
    "get": (8, _get),
    "dump": (4, _dump),
    "flush": (2, _flush),
    "lookup": (6, _lookup),
    "lookup-many": (2, _lookup_many),
    "stats": (3, _stats),
}


def seed(pool: Pool, rnd: random.Random) -> tuple[str, bytes]:
    """A valid request of a kind drawn by weight (what the builders refuse is drawn again)."""
    names = list(SEEDS)
    while True:
        name = rnd.choices(names, weights=[SEEDS[n][0] for n in names])[0]
        try:
            return name, SEEDS[name][1](pool, rnd)
        except errors.RtmgrError:
            continue


# ---- taking a request apart and putting it back -------------------------------------------

@dataclass
class Attr:
    type: int  # with its flag bits
    payload: bytes
    children: Optional[list["Attr"]] = None  # a nest taken apart


def split_attrs(data: bytes) -> Optional[list[Attr]]:
    """The attributes of a well-formed stream; None when it does not parse."""
    out, off = [], 0
    while off < len(data):
        if len(data) - off < 4:
            return None
        n, t = NLA.unpack_from(data, off)
        if n < 4 or off + n > len(data):
            return None
        payload = data[off + 4 : off + n]
        children = split_attrs(payload) if t & NLA_F_NESTED else None
        out.append(Attr(t, payload, children))
        off += (n + 3) & ~3
    return out


def join_attrs(attrs: list[Attr]) -> bytes:
    out = []
    for a in attrs:
        payload = join_attrs(a.children) if a.children is not None else a.payload
        n = 4 + len(payload)
        out.append(NLA.pack(n & 0xFFFF, a.type) + payload + b"\0" * (-n % 4))
    return b"".join(out)


@dataclass
class Request:
    type: int
    flags: int
    hdr: bytearray  # struct rtmgr_hdr, normally 8 bytes
    attrs: list[Attr]

    @classmethod
    def of(cls, data: bytes) -> "Request":
        _n, t, flags, _seq, _pid = NLMSG.unpack_from(data)
        attrs = split_attrs(data[24:])
        assert attrs is not None, "a builder made an unparsable request"
        return cls(t, flags, bytearray(data[16:24]), attrs)

    def encode(self, seq: int) -> bytes:
        body = bytes(self.hdr) + join_attrs(self.attrs)
        return NLMSG.pack(16 + len(body), self.type, self.flags, seq, 0) + body


# ---- mutations ----------------------------------------------------------------------------

def _all_attrs(attrs: list[Attr]) -> list[list[Attr]]:
    """Every attribute list of a request, nests included (to mutate at any depth)."""
    lists = [attrs]
    for a in attrs:
        if a.children is not None:
            lists.extend(_all_attrs(a.children))
    return lists


def _u32(rnd: random.Random) -> bytes:
    return struct.pack("=I", rnd.choice(INTERESTING_U32) if rnd.random() < 0.8 else rnd.getrandbits(32))


def _addr_bytes(rnd: random.Random, pool: Pool) -> bytes:
    pick = rnd.random()
    if pick < 0.4:
        return pool.gateway(rnd, 4).packed
    if pick < 0.65:
        return pool.gateway(rnd, 6).packed
    if pick < 0.7:
        return rnd.choice(SPECIAL_ADDRS).packed
    return rnd.randbytes(rnd.choice((0, 1, 3, 4, 5, 8, 15, 16, 17, 32)))


def _hop(rnd: random.Random, pool: Pool) -> Attr:
    children = []
    if rnd.random() < 0.8:
        children.append(Attr(P.RTMGR_A_NH_GATEWAY, _addr_bytes(rnd, pool)))
    if rnd.random() < 0.6:
        oif = rnd.choice(pool.oifs + (0, 999, 0xFFFFFFFF))
        children.append(Attr(P.RTMGR_A_NH_OIF, struct.pack("=I", oif)))
    if rnd.random() < 0.4:
        children.append(Attr(P.RTMGR_A_NH_WEIGHT, struct.pack("=I", rnd.choice(
            (0, 1, 2, P.RTMGR_WEIGHT_MAX, P.RTMGR_WEIGHT_MAX + 1, 0xFFFFFFFF)))))
    if rnd.random() < 0.05:
        children.append(Attr(rnd.randint(4, 40), _u32(rnd)))
    flag = NLA_F_NESTED if rnd.random() < 0.9 else 0
    return Attr(P.RTMGR_A_MP_NEXTHOP | flag, join_attrs(children), children if flag else None)


def m_header_field(req: Request, rnd: random.Random, pool: Pool) -> None:
    if rnd.random() < 0.3 and len(req.hdr) >= 8:
        struct.pack_into("=I", req.hdr, 4, rnd.choice(INTERESTING_U32 + pool.tables))
    elif req.hdr:
        req.hdr[rnd.randrange(min(len(req.hdr), 4))] = rnd.choice(INTERESTING_U8)


def m_message_type(req: Request, rnd: random.Random, pool: Pool) -> None:
    req.type = rnd.choice(MESSAGE_TYPES * 4 + (0, 1, 2, 3, 15, P.RTMGR_MSG_MAX + 1, 100, 0xFFFF))


def m_flags(req: Request, rnd: random.Random, pool: Pool) -> None:
    if rnd.random() < 0.8:
        req.flags ^= rnd.choice(FLAG_BITS)
    else:
        req.flags = rnd.getrandbits(16)


def m_hdr_size(req: Request, rnd: random.Random, pool: Pool) -> None:
    """A short or long fixed header (then the attributes start elsewhere)."""
    size = rnd.choice((0, 1, 4, 7, 9, 12))
    req.hdr = bytearray(req.hdr[:size]) + bytearray(max(0, size - len(req.hdr)))


def m_drop(req: Request, rnd: random.Random, pool: Pool) -> None:
    lists = [l for l in _all_attrs(req.attrs) if l]
    if lists:
        l = rnd.choice(lists)
        del l[rnd.randrange(len(l))]


def m_duplicate(req: Request, rnd: random.Random, pool: Pool) -> None:
    lists = [l for l in _all_attrs(req.attrs) if l]
    if lists:
        l = rnd.choice(lists)
        a = rnd.choice(l)
        l.insert(rnd.randrange(len(l) + 1), Attr(a.type, a.payload, a.children))


def m_shuffle(req: Request, rnd: random.Random, pool: Pool) -> None:
    rnd.shuffle(rnd.choice(_all_attrs(req.attrs)))


def m_attr_type(req: Request, rnd: random.Random, pool: Pool) -> None:
    lists = [l for l in _all_attrs(req.attrs) if l]
    if lists:
        a = rnd.choice(rnd.choice(lists))
        pick = rnd.random()
        if pick < 0.4:
            a.type ^= rnd.choice((NLA_F_NESTED, NLA_F_NET_BYTEORDER))
        else:
            a.type = rnd.choice(tuple(range(0, P.RTMGR_A_MAX + 3)) + (0x3FFF, 0x7FFF, 0xFFFF))
        if a.children is not None and not a.type & NLA_F_NESTED:
            a.children = None


def m_payload(req: Request, rnd: random.Random, pool: Pool) -> None:
    lists = [l for l in _all_attrs(req.attrs) if l]
    if not lists:
        return
    a = rnd.choice(rnd.choice(lists))
    pick = rnd.random()
    if pick < 0.25:
        a.payload = a.payload[: rnd.randrange(len(a.payload) + 1)]
    elif pick < 0.45:
        a.payload = a.payload + rnd.randbytes(rnd.choice((1, 3, 4, 12, 40)))
    elif pick < 0.75 and len(a.payload) == 4:
        a.payload = _u32(rnd)
    elif pick < 0.9:
        a.payload = _addr_bytes(rnd, pool)
    else:
        a.payload = rnd.randbytes(len(a.payload))
    a.children = None


def m_extra(req: Request, rnd: random.Random, pool: Pool) -> None:
    """An attribute the message may not take, or one it takes twice, or one unknown."""
    t = rnd.choice(tuple(range(1, P.RTMGR_A_MAX + 1)) + (P.RTMGR_A_MAX + 1, 100, 0x3FFF))
    payload = rnd.choice((b"", _u32(rnd), _addr_bytes(rnd, pool), bytes([rnd.randrange(256)])))
    req.attrs.insert(rnd.randrange(len(req.attrs) + 1), Attr(t, payload))


def _distinct_hop(i: int, v6: bool) -> Attr:
    """The i-th of many valid next hops, all different (a long list that fails only by its length)."""
    gw = ipaddress.ip_address(f"2001:db8:ffff::{i + 16:x}" if v6 else f"10.99.0.{i + 16}")
    children = [Attr(P.RTMGR_A_NH_GATEWAY, gw.packed)]
    return Attr(P.RTMGR_A_MP_NEXTHOP | NLA_F_NESTED, join_attrs(children), children)


def m_multipath(req: Request, rnd: random.Random, pool: Pool) -> None:
    """A next-hop list of a telling length, at or past the limit."""
    n = rnd.choice((0, 1, 2, 3, P.RTMGR_MAX_NEXTHOPS - 1, P.RTMGR_MAX_NEXTHOPS, P.RTMGR_MAX_NEXTHOPS + 1, 40))
    if n > 3 and rnd.random() < 0.7:
        v6 = bool(req.hdr) and req.hdr[0] == socket.AF_INET6
        hops = [_distinct_hop(i, v6) for i in range(n)]
    else:
        hops = [_hop(rnd, pool) for _ in range(n)]
    if hops and rnd.random() < 0.2:
        hops.append(Attr(hops[0].type, hops[0].payload, hops[0].children))  # a duplicate
    flag = NLA_F_NESTED if rnd.random() < 0.9 else 0
    mp = Attr(P.RTMGR_A_MULTIPATH | flag, join_attrs(hops), hops if flag else None)
    req.attrs = [a for a in req.attrs if a.type & 0x3FFF != P.RTMGR_A_MULTIPATH or rnd.random() < 0.2]
    req.attrs.insert(rnd.randrange(len(req.attrs) + 1), mp)


def m_addrs(req: Request, rnd: random.Random, pool: Pool) -> None:
    """RTMGR_A_ADDRS at, past and short of its limit, whole or not."""
    alen = rnd.choice((4, 16))
    n = rnd.choice((0, 1, 2, 100, P.RTMGR_MAX_LOOKUP_ADDRS, P.RTMGR_MAX_LOOKUP_ADDRS + 1))
    payload = rnd.randbytes(min(n * alen, 65535 - 4))
    if rnd.random() < 0.2:
        payload += b"\x01" * rnd.choice((1, 2, 3))
    req.attrs = [a for a in req.attrs if a.type != P.RTMGR_A_ADDRS]
    req.attrs.append(Attr(P.RTMGR_A_ADDRS, payload))
    if rnd.random() < 0.7:  # made a bulk lookup in every other respect
        req.type = P.RTMGR_MSG_LOOKUP
        req.flags |= P.NLM_F_DUMP
        req.hdr = bytearray(struct.pack("=BBBBI", socket.AF_INET if alen == 4 else socket.AF_INET6, 0, 0, 0,
                                        rnd.choice(pool.tables)))
        req.attrs = [a for a in req.attrs if a.type == P.RTMGR_A_ADDRS]


STRUCTURED = (m_header_field, m_message_type, m_flags, m_hdr_size, m_drop, m_duplicate, m_shuffle,
              m_attr_type, m_payload, m_payload, m_extra, m_multipath, m_addrs)


def lie(data: bytes, rnd: random.Random) -> bytes:
    """A byte-level lie: in nlmsg_len, in one nla_len, a cut or trailing bytes."""
    buf = bytearray(data)
    pick = rnd.random()
    if pick < 0.3:
        n = len(buf)
        struct.pack_into("=I", buf, 0, rnd.choice((0, 1, 15, 16, 17, 23, 24, n - 1, n + 1, n + 4, n + 100,
                                                    0x7FFFFFFF, 0xFFFFFFFF)) & 0xFFFFFFFF)
    elif pick < 0.6:
        offsets, off = [], 24
        while off + 4 <= len(buf):  # top-level attribute starts (of the request as built)
            offsets.append(off)
            n = NLA.unpack_from(buf, off)[0]
            if n < 4:
                break
            off += (n + 3) & ~3
        if offsets:
            at = rnd.choice(offsets)
            n = NLA.unpack_from(buf, at)[0]
            struct.pack_into("=H", buf, at, rnd.choice((0, 1, 3, 4, 5, n - 1, n + 1, n + 4, n + 200, 0xFFFF))
                             & 0xFFFF)
    elif pick < 0.8:
        cut = rnd.randrange(len(buf))
        buf = buf[:cut]
        if rnd.random() < 0.5 and cut >= 4:
            struct.pack_into("=I", buf, 0, cut)
    else:
        extra = rnd.randbytes(rnd.choice((1, 2, 3, 4, 8, 17)))
        buf += extra
        if rnd.random() < 0.5:
            struct.pack_into("=I", buf, 0, len(buf))
    return bytes(buf)


@dataclass
class Made:
    kind: str  # the seed's kind, or 'valid <kind>' when it was left alone
    data: bytes
    seq: int
    lied: bool  # bytes that lie about their own lengths: the kernel may read other messages


def make(pool: Pool, rnd: random.Random, seq: int) -> Made:
    """One request: valid (a fifth of them), mutated by structure, or lying in its bytes."""
    kind, data = seed(pool, rnd)
    req = Request.of(data)
    if rnd.random() < 0.2:
        return Made("valid " + kind, req.encode(seq), seq, False)
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        rnd.choice(STRUCTURED)(req, rnd, pool)
    data = req.encode(seq)
    lied = rnd.random() < 0.15
    if lied:
        data = lie(data, rnd)
    return Made(kind, data, seq, lied)


def with_seq(data: bytes, seq: int) -> bytes:
    """A built request (the builders number it 0 here) with this nlmsg_seq."""
    return data[:8] + struct.pack("=I", seq) + data[12:]


def valid(pool: Pool, rnd: random.Random, seq: int) -> Made:
    """One valid request as the builders make it, with this seq."""
    kind, data = seed(pool, rnd)
    return Made("valid " + kind, with_seq(data, seq), seq, False)
