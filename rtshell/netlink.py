"""The typed layer over the C helper library (bindings/, through cffi).

Builders return the bytes of one request; :class:`BatchBuilder` packs many
route requests into buffers for one ``send`` each; :func:`parse` turns a
whole receive buffer into :class:`Message` records with a single C call;
:func:`decode` explains any buffer as text; :class:`NetlinkSocket` sends and
receives (blocking in C, so other threads keep running).

This is the only layer that turns the C library's -1/errno into exceptions
(:mod:`rtshell.errors`).
"""

from __future__ import annotations

import contextlib
import errno as _errno
import functools
import ipaddress
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Sequence, TypedDict, Union

from rtshell import errors, model, names, words
from rtshell._rtmgr_cffi import ffi, lib
from rtshell.model import (
    Address, Filter, LookupResult, Match, Network, NextHop, Route, RouteType, Stats, TableStats,
    route_from_wire,
)

if TYPE_CHECKING:  # the C types: in the binding's stub only (_rtmgr_cffi.pyi)
    from rtshell._rtmgr_cffi import (
        Array, Bytes, CData, rtm_filter, rtm_line, rtm_msg, rtm_route, rtm_stats, rtm_table_stats,
    )

# ---- message types and flags ---------------------------------------------

NEWROUTE = lib.RTMGR_MSG_NEWROUTE
DELROUTE = lib.RTMGR_MSG_DELROUTE
GETROUTE = lib.RTMGR_MSG_GETROUTE
LOOKUP = lib.RTMGR_MSG_LOOKUP
FLUSH = lib.RTMGR_MSG_FLUSH
GETSTATS = lib.RTMGR_MSG_GETSTATS

_REQ_ACK = lib.NLM_F_REQUEST | lib.NLM_F_ACK
ADD_FLAGS = _REQ_ACK | lib.NLM_F_CREATE | lib.NLM_F_EXCL
REPLACE_FLAGS = _REQ_ACK | lib.NLM_F_CREATE | lib.NLM_F_REPLACE
CHANGE_FLAGS = _REQ_ACK | lib.NLM_F_REPLACE
APPEND_FLAGS = _REQ_ACK | lib.NLM_F_CREATE | lib.NLM_F_APPEND
DELETE_FLAGS = _REQ_ACK
ECHO = lib.NLM_F_ECHO  # or into any of the above: the kernel echoes the route

#: (message type, flags) of each route change verb: the one table both the
#: client (rtshell.client) and ``explain`` build requests from
VERB_FLAGS = {
    "add": (NEWROUTE, ADD_FLAGS),
    "replace": (NEWROUTE, REPLACE_FLAGS),
    "change": (NEWROUTE, CHANGE_FLAGS),
    "append": (NEWROUTE, APPEND_FLAGS),
    "delete": (DELROUTE, DELETE_FLAGS),
}

#: bind() mask of the notification group
GROUP_ROUTE = 1 << (lib.RTMGR_GRP_ROUTE - 1)

#: a receive buffer larger than any datagram the kernel sends (dumps fill 32 KiB)
RECV_BUFSIZE = 64 * 1024
#: default batch size: one sendmsg, well below the default socket send limit
BATCH_SIZE = 32 * 1024

_AF = {4: lib.AF_INET, 6: lib.AF_INET6}
_VERSION = {lib.AF_INET: 4, lib.AF_INET6: 6}
_ALEN = {lib.AF_INET: 4, lib.AF_INET6: 16}
_AF_OF_LEN = {4: lib.AF_INET, 16: lib.AF_INET6}  # address length -> family
# looked up once per route in BatchBuilder.put: bound here
_NEWROUTE = lib.RTMGR_MSG_NEWROUTE
_NULL = ffi.NULL
_add_hop = lib.rtm_batch_add_hop

# the largest single route request: headers, dst, gateway, oif, metric, and
# a multipath nest of RTMGR_MAX_NEXTHOPS next hops with every attribute
_ROUTE_MAX = 24 + 20 + 20 + 8 + 8 + 4 + lib.RTMGR_MAX_NEXTHOPS * (4 + 20 + 8 + 8)
_FILTER_MAX = 24 + 20 + 20 + 8 + 8 + 8
_ROUTE_ZERO = bytes(ffi.sizeof("struct rtm_route"))

_MULTI = lib.NLM_F_MULTI
_DUMP_INTR = lib.NLM_F_DUMP_INTR

_KINDS = {
    lib.RTM_KIND_ROUTE: "route",
    lib.RTM_KIND_LOOKUP: "lookup",
    lib.RTM_KIND_FLUSH: "flush",
    lib.RTM_KIND_STATS: "stats",
    lib.RTM_KIND_ACK: "ack",
    lib.RTM_KIND_ERROR: "error",
    lib.RTM_KIND_DONE: "done",
    lib.RTM_KIND_MALFORMED: "malformed",
    lib.RTM_KIND_OTHER: "other",
}

_TYPE_NAMES = {
    lib.NLMSG_NOOP: "NOOP",
    lib.NLMSG_ERROR: "ERROR",
    lib.NLMSG_DONE: "DONE",
    lib.NLMSG_OVERRUN: "OVERRUN",
    NEWROUTE: "NEWROUTE",
    DELROUTE: "DELROUTE",
    GETROUTE: "GETROUTE",
    LOOKUP: "LOOKUP",
    FLUSH: "FLUSH",
    GETSTATS: "GETSTATS",
}


def type_name(msg_type: int) -> str:
    return _TYPE_NAMES.get(msg_type, f"type {msg_type}")


# ---- readable requests -----------------------------------------------------


def verb(msg_type: int, flags: int) -> str:
    """'add', 'replace', 'change', 'append', 'delete', ... for a route request."""
    if msg_type == DELROUTE:
        return "delete"
    if msg_type != NEWROUTE:
        return type_name(msg_type).lower()
    f = flags & (lib.NLM_F_CREATE | lib.NLM_F_EXCL | lib.NLM_F_REPLACE | lib.NLM_F_APPEND)
    if f & lib.NLM_F_APPEND:
        return "append"
    if f & lib.NLM_F_REPLACE:
        return "replace" if f & lib.NLM_F_CREATE else "change"
    return "add"


def describe_route(msg_type: int, flags: int, route: Route) -> str:
    """One line in ip's words: 'route add 10.0.0.0/24 via 192.0.2.1 table main'."""
    return words.request_text(verb(msg_type, flags), route, names.REQUEST_NAMES)


def describe_filter(what: str, flt: Optional[Filter]) -> str:
    """'route flush table 100 proto kernel', 'route show', ..."""
    return words.request_text(what, flt, names.REQUEST_NAMES)


# ---- model <-> C -----------------------------------------------------------


def _invalid(request: str, text: str) -> errors.InvalidRequest:
    return errors.InvalidRequest(_errno.EINVAL, text, request)


@contextlib.contextmanager
def _fields(request: str) -> Iterator[None]:
    """A number that does not fit its C field is an invalid request."""
    try:
        yield
    except (OverflowError, TypeError) as exc:
        raise _invalid(request, f"a field does not fit the wire format: {exc}") from None


def _fail(request: str) -> errors.RtmgrError:
    return errors.error_for(ffi.errno or _errno.EIO, None, request)


def _put_addr(dst: CData, addr: Address) -> None:
    packed = addr.packed
    ffi.memmove(dst, packed, len(packed))


def _route_to_c(c: rtm_route, msg_type: int, flags: int, route: Route, match_metric: Optional[bool]) -> None:
    """Fill a struct rtm_route; the request text is made only for an error."""
    try:
        _fill_route(c, msg_type, flags, route, match_metric)
    except (OverflowError, TypeError) as exc:
        request = describe_route(msg_type, flags, route)
        raise _invalid(request, f"a field does not fit the wire format: {exc}") from None


def _fill_route(c: rtm_route, msg_type: int, flags: int, route: Route, match_metric: Optional[bool]) -> None:
    family = _AF[route.family]
    if len(route.nexthops) > lib.RTMGR_MAX_NEXTHOPS:
        raise errors.TooBig(
            _errno.E2BIG,
            f"{len(route.nexthops)} next hops, at most {lib.RTMGR_MAX_NEXTHOPS}",
            describe_route(msg_type, flags, route),
        )
    ffi.memmove(c, _ROUTE_ZERO, len(_ROUTE_ZERO))
    c.family = family
    c.dst_len = route.dst.prefixlen
    c.type = int(route.type)
    c.proto = route.proto
    c.table = route.table
    _put_addr(c.dst, route.dst.network_address)
    if route.gateway is not None:
        if route.gateway.version != route.family:
            raise _invalid(describe_route(msg_type, flags, route), "gateway and destination are of different families")
        _put_addr(c.gateway, route.gateway)
        c.has_gw = 1
    if route.oif is not None:
        c.oif = route.oif
        c.has_oif = 1
    for i, hop in enumerate(route.nexthops):
        nh = c.nh[i]
        if hop.gateway is not None:
            if hop.gateway.version != route.family:
                raise _invalid(
                    describe_route(msg_type, flags, route), "next-hop gateway and destination are of different families"
                )
            _put_addr(nh.gateway, hop.gateway)
            nh.has_gw = 1
        if hop.oif is not None:
            nh.oif = hop.oif
            nh.has_oif = 1
        if not 1 <= hop.weight <= lib.RTMGR_WEIGHT_MAX:
            raise _invalid(describe_route(msg_type, flags, route), f"weight {hop.weight}: 1 .. {lib.RTMGR_WEIGHT_MAX}")
        nh.weight = hop.weight
    c.nh_count = len(route.nexthops)
    c.metric = route.metric
    if msg_type == NEWROUTE:
        c.has_metric = 1
    elif match_metric is None:
        c.has_metric = route.metric != 0
    else:
        c.has_metric = bool(match_metric)


def _filter_to_c(c: rtm_filter, flt: Filter, request: str) -> None:
    with _fields(request):
        _fill_filter(c, flt, request)


def _fill_filter(c: rtm_filter, flt: Filter, request: str) -> None:
    version = flt.family
    for what, obj in (("prefix", flt.prefix), ("gateway", flt.gateway)):
        if obj is None:
            continue
        if version is None:
            version = obj.version
        elif obj.version != version:
            raise _invalid(request, f"the filter's {what} is not of its family")
    if version is not None:
        if version not in _AF:
            raise _invalid(request, f"family {version}: 4 or 6")
        c.family = _AF[version]
    c.table = flt.table or 0
    c.type = int(flt.type) if flt.type is not None else 0
    c.proto = flt.proto or 0
    if flt.prefix is not None:
        _put_addr(c.dst, flt.prefix.network_address)
        c.dst_len = flt.prefix.prefixlen
        c.has_dst = 1
        c.match = int(flt.match)
        c.has_match = 1
    if flt.gateway is not None:
        _put_addr(c.gateway, flt.gateway)
        c.has_gw = 1
    if flt.oif is not None:
        c.oif = flt.oif
        c.has_oif = 1
    if flt.metric is not None:
        c.metric = flt.metric
        c.has_metric = 1


@functools.lru_cache(maxsize=4096)
def _addr4(packed: bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(packed)


@functools.lru_cache(maxsize=4096)
def _addr6(packed: bytes) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(packed)


def _addr_from_c(family: int, raw: Bytes) -> Address:
    # gateways repeat across a table: the cache saves building them again
    if family == lib.AF_INET:
        return _addr4(ffi.buffer(raw, 4)[:])
    return _addr6(ffi.buffer(raw, 16)[:])


def _net_from_c(family: int, raw: Bytes, plen: int) -> Network:
    # from an int: ipaddress parses an address object passed here as text
    if family == lib.AF_INET:
        return ipaddress.IPv4Network((int.from_bytes(ffi.buffer(raw, 4), "big"), plen), strict=False)
    return ipaddress.IPv6Network((int.from_bytes(ffi.buffer(raw, 16), "big"), plen), strict=False)


def _route_from_c(r: rtm_route) -> Route:
    family = r.family
    nexthops: tuple[NextHop, ...] = ()
    if r.multipath:
        hops = []
        for i in range(r.nh_count):
            nh = r.nh[i]
            hops.append(
                NextHop(
                    _addr_from_c(family, nh.gateway) if nh.has_gw else None,
                    nh.oif if nh.has_oif else None,
                    nh.weight or 1,
                )
            )
        nexthops = tuple(hops)
    rtype = r.type
    return route_from_wire(
        _net_from_c(family, r.dst, r.dst_len),
        r.table,
        _ROUTE_TYPES[rtype] if rtype in _ROUTE_TYPES else RouteType(rtype),
        r.proto,
        r.metric if r.has_metric else 0,
        _addr_from_c(family, r.gateway) if r.has_gw else None,
        r.oif if r.has_oif else None,
        nexthops,
        r.created if r.has_created else None,
        r.changed if r.has_changed else None,
    )


_ROUTE_TYPES = {t.value: t for t in RouteType}
_ROUTE_TYPES[RouteType.UNSPEC.value] = RouteType.UNICAST  # UNSPEC means unicast on the wire


def _filter_from_c(f: rtm_filter) -> Filter:
    family = f.family
    return Filter(
        family=_VERSION.get(family),
        table=f.table or None,
        type=RouteType(f.type) if f.type else None,
        proto=f.proto or None,
        oif=f.oif if f.has_oif else None,
        gateway=_addr_from_c(family, f.gateway) if f.has_gw else None,
        metric=f.metric if f.has_metric else None,
        prefix=_net_from_c(family, f.dst, f.dst_len) if f.has_dst else None,
        match=Match(f.match) if f.has_match else Match.EXACT,
    )


# ---- builders ----------------------------------------------------------------


def _take(buf: Bytes, n: int) -> bytes:
    return ffi.buffer(buf, n)[:]


def build_route(
    msg_type: int, flags: int, seq: int, route: Route, *, match_metric: Optional[bool] = None
) -> bytes:
    """A NEWROUTE (flags: ADD_FLAGS, REPLACE_FLAGS, ... maybe | ECHO) or DELROUTE.

    For DELROUTE, gateway, oif, type (not UNSPEC) and proto (not 0) must
    match the route; the metric is matched when ``match_metric`` is true,
    or, by default, when it is not 0.
    """
    c = ffi.new("struct rtm_route *")
    _route_to_c(c, msg_type, flags, route, match_metric)
    buf = ffi.new("uint8_t[]", _ROUTE_MAX)
    n = lib.rtm_build_route(buf, _ROUTE_MAX, msg_type, flags, seq, c)
    if n < 0:
        raise _fail(describe_route(msg_type, flags, route))
    return _take(buf, n)


def build_get(seq: int, dst: Network, table: int = model.TABLE_MAIN, *, ack: bool = False,
              metric: Optional[int] = None) -> bytes:
    """GETROUTE for exactly this key (metric None: the prefix's lowest-metric
    route): answered by a NEWROUTE or an error (then an ACK if ``ack``)."""
    request = f"route get {dst} table {table}" + ("" if metric is None else f" metric {metric}")
    family = _AF[dst.version]
    buf = ffi.new("uint8_t[]", 64)
    with _fields(request):
        n = lib.rtm_build_get(buf, 64, seq, 1 if ack else 0, family, dst.network_address.packed, dst.prefixlen,
                              table, metric or 0, metric is not None)
    if n < 0:
        raise _fail(request)
    return _take(buf, n)


def build_dump(seq: int, filter: Optional[Filter] = None) -> bytes:
    """GETROUTE with NLM_F_DUMP; the filter is applied by the kernel."""
    request = describe_filter("show", filter)
    c = ffi.new("struct rtm_filter *")
    if filter is not None:
        _filter_to_c(c, filter, request)
    buf = ffi.new("uint8_t[]", _FILTER_MAX)
    n = lib.rtm_build_dump(buf, _FILTER_MAX, seq, c)
    if n < 0:
        raise _fail(request)
    return _take(buf, n)


def build_flush(seq: int, filter: Optional[Filter] = None, ack: bool = True) -> bytes:
    """FLUSH: delete every route passing the filter (None: every route)."""
    request = describe_filter("flush", filter)
    c = ffi.new("struct rtm_filter *")
    if filter is not None:
        _filter_to_c(c, filter, request)
    buf = ffi.new("uint8_t[]", _FILTER_MAX)
    n = lib.rtm_build_flush(buf, _FILTER_MAX, seq, 1 if ack else 0, c)
    if n < 0:
        raise _fail(request)
    return _take(buf, n)


def build_lookup(seq: int, addr: Address, table: int = model.TABLE_MAIN, *, ack: bool = False) -> bytes:
    """LOOKUP of one address (longest-prefix match): a LOOKUP answer or ENETUNREACH."""
    request = f"route lookup {addr} table {table}"
    buf = ffi.new("uint8_t[]", 64)
    with _fields(request):
        n = lib.rtm_build_lookup(buf, 64, seq, 1 if ack else 0, _AF[addr.version], addr.packed, table)
    if n < 0:
        raise _fail(request)
    return _take(buf, n)


def build_lookup_many(seq: int, addrs: Sequence[Address], table: int = model.TABLE_MAIN) -> bytes:
    """LOOKUP of many addresses of one family (NLM_F_DUMP, RTMGR_A_ADDRS)."""
    addrs = list(addrs)
    request = f"route lookup of {len(addrs)} addresses table {table}"
    if not addrs:
        raise _invalid(request, "no addresses")
    version = addrs[0].version
    if any(a.version != version for a in addrs):
        raise _invalid(request, "addresses of both families in one bulk lookup")
    if len(addrs) > lib.RTMGR_MAX_LOOKUP_ADDRS:
        raise errors.TooBig(
            _errno.E2BIG, f"{len(addrs)} addresses, at most {lib.RTMGR_MAX_LOOKUP_ADDRS}", request
        )
    packed = b"".join(a.packed for a in addrs)
    size = 32 + len(packed)
    buf = ffi.new("uint8_t[]", size)
    with _fields(request):
        n = lib.rtm_build_lookup_many(buf, size, seq, _AF[version], packed, len(addrs), table)
    if n < 0:
        raise _fail(request)
    return _take(buf, n)


def build_stats(seq: int, *, ack: bool = False, tables: bool = False) -> bytes:
    """GETSTATS: the totals; ``tables``: a dump, then one message per (table, family)."""
    buf = ffi.new("uint8_t[]", 32)
    n = lib.rtm_build_stats(buf, 32, seq, 1 if ack else 0, 1 if tables else 0)
    if n < 0:
        raise _fail("stats")
    return _take(buf, n)


class BatchBuilder:
    """Packs route requests back to back into buffers of at most ``size`` bytes.

    ``add()`` returns a full buffer when the new request did not fit in it
    (the request then starts the next buffer), ``flush()`` the last one;
    ``pack()`` does both over an iterable and yields every buffer.

    ``put()`` and ``take()`` are the lower level the client's batches use:
    ``put()`` says whether the request fitted, ``take(ack_last=True)`` sets
    NLM_F_ACK on the last request of the buffer it returns, so that a batch
    of requests sent without NLM_F_ACK is answered by its errors and one ACK
    at its end (rtm.h: rtm_batch_ack_last).

    A route with at most one next hop (the common case) crosses into C in
    one call with plain values (rtm_batch_add_hop); a multipath route fills
    a struct rtm_route first.  Both are encoded by rtm_build_route.
    """

    def __init__(self, size: int = BATCH_SIZE) -> None:
        self.size = size
        self._buf = ffi.new("uint8_t[]", size)
        self._batch = ffi.new("struct rtm_batch *")
        self._route = ffi.new("struct rtm_route *")
        lib.rtm_batch_init(self._batch, self._buf, size)

    def __len__(self) -> int:
        """Requests in the buffer being filled."""
        return self._batch.count

    @property
    def pending(self) -> int:
        """Bytes in the buffer being filled."""
        return self._batch.len

    def take(self, ack_last: bool = False) -> bytes:
        """The buffer's requests (NLM_F_ACK set on the last with ``ack_last``); empties it."""
        if ack_last and lib.rtm_batch_ack_last(self._batch) < 0:
            raise _fail("a batch with no request")
        data = ffi.buffer(self._buf, self._batch.len)[:]
        lib.rtm_batch_reset(self._batch)
        return data

    def put(
        self, msg_type: int, flags: int, seq: int, route: Union[Route, "PackedRoute"], *,
        match_metric: Optional[bool] = None
    ) -> bool:
        """Append one request: True, or False when the buffer is full (nothing added).

        Raises (nothing added) when the request cannot be built at all.
        This runs once per route of every batch: kept flat on purpose.
        A :class:`PackedRoute` (a batch file's line, read in C) goes in as it is.
        """
        if isinstance(route, PackedRoute):
            line = route.line
            if msg_type == _NEWROUTE:
                has_metric = 1
            elif match_metric is None:
                has_metric = line.route.metric != 0
            else:
                has_metric = match_metric
            ret = lib.rtm_batch_add_line(self._batch, msg_type, flags, seq, line, has_metric)
            if ret < 0:
                raise _fail(describe_route(msg_type, flags, route.route))
            return ret == 0
        if route.nexthops:
            _route_to_c(self._route, msg_type, flags, route, match_metric)
            ret = lib.rtm_batch_add_route(self._batch, msg_type, flags, seq, self._route)
        else:
            dst = route.dst
            gw = route.gateway
            oif = route.oif
            if msg_type == _NEWROUTE:
                has_metric = 1
            elif match_metric is None:
                has_metric = route.metric != 0
            else:
                has_metric = match_metric
            try:
                addr = dst.network_address.packed
                gw_arg: Union[CData, bytes]
                if gw is None:
                    gw_arg = _NULL
                else:
                    gw_arg = gw.packed
                    if len(gw_arg) != len(addr):
                        raise _invalid(describe_route(msg_type, flags, route),
                                       "gateway and destination are of different families")
                ret = _add_hop(
                    self._batch, msg_type, flags, seq, _AF_OF_LEN[len(addr)], dst.prefixlen,
                    route.type, route.proto, route.table, addr, gw_arg,
                    0 if oif is None else oif, oif is not None, route.metric, has_metric)
            except (OverflowError, TypeError, AttributeError, KeyError) as exc:
                raise _invalid(describe_route(msg_type, flags, route),
                               f"a field does not fit the wire format: {exc}") from None
        if ret < 0:
            raise _fail(describe_route(msg_type, flags, route))
        return ret == 0

    def add(
        self, msg_type: int, flags: int, seq: int, route: Route, *, match_metric: Optional[bool] = None
    ) -> Optional[bytes]:
        if self.put(msg_type, flags, seq, route, match_metric=match_metric):
            return None
        full = self.take()
        self.put(msg_type, flags, seq, route, match_metric=match_metric)  # fits, or raises EMSGSIZE
        return full

    def flush(self) -> Optional[bytes]:
        if not self._batch.count:
            return None
        return self.take()

    def pack(self, items: Iterable[tuple[int, int, int, Route]]) -> Iterator[bytes]:
        """Yield complete buffers for (msg_type, flags, seq, route) items."""
        for item in items:
            full = self.add(*item)
            if full is not None:
                yield full
        last = self.flush()
        if last is not None:
            yield last


# ---- batch-file lines --------------------------------------------------------


class PackedRoute:
    """A route change a batch file's line gave, read by the C library into a
    struct rtm_line (see :class:`RouteLines`): it goes into a batch as it is,
    with no Route object; :attr:`route` makes one when it is wanted (the
    text of an error, the undo of an atomic batch)."""

    __slots__ = ("line", "verb", "number", "_lines")

    def __init__(self, lines: "Array[rtm_line]", i: int) -> None:
        self._lines = lines  # keeps the array the line is in alive
        self.line = lines + i  # a struct rtm_line *
        self.verb = RouteLines.VERBS[self.line.verb]
        self.number = self.line.number

    @property
    def route(self) -> Route:
        return _route_from_c(self.line.route)

    @property
    def key(self) -> tuple[int, int, Network, int]:
        return self.route.key


class RouteLines:
    """Reads the common lines of a batch file in C (bindings/rtm_text.c):
    ``route VERB PREFIX`` and ``via``, ``dev``, ``table``, ``metric``,
    ``proto`` in any order.  The words are the caller's (its grammar's):
    ``group`` the words for 'route', ``verbs`` word -> verb, ``keys`` word ->
    key ('via', 'dev', 'table', 'metric', 'proto'), and the device, table
    and protocol names.  A line of any other shape stops the reading; the
    caller's grammar reads it."""

    VERBS = ("add", "replace", "change", "append", "delete")  # enum rtm_verb
    KEYS = ("via", "dev", "table", "metric", "proto")  # enum rtm_key
    #: lines read per call
    CHUNK = 1024

    def __init__(self, group: Iterable[str], verbs: dict[str, str], keys: dict[str, str],
                 devices: dict[str, int], tables: dict[str, int], protos: dict[str, int],
                 table_main: int, proto_default: int) -> None:
        entries = [(lib.RTM_WORD_GROUP, w, 0) for w in group]
        entries += [(lib.RTM_WORD_VERB, w, self.VERBS.index(v)) for w, v in verbs.items()]
        entries += [(lib.RTM_WORD_KEY, w, self.KEYS.index(k)) for w, k in keys.items()]
        entries += [(lib.RTM_WORD_DEV, w, i) for w, i in devices.items()]
        entries += [(lib.RTM_WORD_TABLE, w, i) for w, i in tables.items()]
        entries += [(lib.RTM_WORD_PROTO, w, i) for w, i in protos.items()]
        words = [(kind, w.encode(), v) for kind, w, v in entries
                 if w.isascii() and 0 < len(w.encode()) < lib.RTM_WORD_MAX]
        words.sort(key=lambda e: (e[0], e[1]))  # bsearch in C: by kind, then strcmp
        self._words = ffi.new("struct rtm_word[]", max(1, len(words)))
        for i, (kind, text, value) in enumerate(words):
            w = self._words[i]
            ffi.memmove(w.text, text, len(text))  # the array was zeroed: NUL-terminated
            w.kind = kind
            w.value = value
        self._dict = ffi.new("struct rtm_words *")
        self._dict.words = self._words
        self._dict.count = len(words)
        self._dict.table_main = table_main
        self._dict.proto_default = proto_default
        self._pos = ffi.new("size_t *")
        self._line_no = ffi.new("uint32_t *")
        self._spare: Optional[Array[rtm_line]] = None  # an array no route holds yet

    def read(self, text: bytes, pos: int, line_no: int) -> tuple[list[PackedRoute], int, int]:
        """Lines of ``text`` from byte ``pos`` (line number ``line_no``) up to
        CHUNK of them, or to the first line of another shape: their routes,
        and the position and number of the next line."""
        lines = self._spare
        if lines is None:
            lines = ffi.new("struct rtm_line[]", self.CHUNK)
        self._pos[0] = pos
        self._line_no[0] = line_no
        n = lib.rtm_text_routes(text, len(text), self._pos, self._line_no, self._dict, lines, self.CHUNK)
        # the routes read keep their array; one that took none is kept for the
        # next call (a file of lines the grammar reads asks once a line)
        self._spare = None if n else lines
        return [PackedRoute(lines, i) for i in range(n)], self._pos[0], self._line_no[0]


# ---- parser ------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    """One netlink message of a receive buffer.

    Not frozen: a dump makes one per route, and a frozen dataclass's
    ``__init__`` (``object.__setattr__`` per field) cost more than the
    route it carries.  Treat it as read-only.
    """

    type: int
    flags: int
    seq: int
    pid: int
    kind: str  # route | lookup | flush | stats | ack | error | done | malformed | other
    route: Optional[Route] = None  # route; lookup hit
    lookup: Optional[LookupResult] = None  # lookup
    count: Optional[int] = None  # flush
    filter: Optional[Filter] = None  # flush
    stats: Optional[Stats] = None  # stats
    error: Optional[int] = None  # ack (0), error, done: positive errno; malformed: EBADMSG
    ext_ack: Optional[str] = None  # the kernel's text (error, done)
    offset: Optional[int] = None  # offset of the blamed attribute in the request
    multi: bool = False  # NLM_F_MULTI
    dump_intr: bool = False  # NLM_F_DUMP_INTR: retry the dump
    reason: Optional[str] = None  # malformed: what is wrong
    request_type: Optional[int] = None  # ack, error: the request's nlmsg_type
    request_seq: Optional[int] = None  # ack, error: the request's nlmsg_seq

    @property
    def is_error(self) -> bool:
        return self.kind == "error" or (self.kind == "done" and bool(self.error))

    def exception(self, request: Optional[str] = None) -> errors.RtmgrError:
        """The exception for an error (or malformed) record."""
        if self.kind == "malformed":
            return errors.ProtocolError(_errno.EBADMSG, self.reason, request)
        return errors.error_for(self.error or _errno.EIO, self.ext_ack, request, self.offset)


class _Arrays(threading.local):
    """Per-thread result arrays for rtm_parse(), allocated once."""

    MSGS = 1024
    ROUTES = 512
    STATS = 8
    TABLES = 1024

    def __init__(self) -> None:
        self.msgs = ffi.new("struct rtm_msg[]", self.MSGS)
        self.routes = ffi.new("struct rtm_route[]", self.ROUTES)
        self.stats = ffi.new("struct rtm_stats[]", self.STATS)
        self.tables = ffi.new("struct rtm_table_stats[]", self.TABLES)
        p = ffi.new("struct rtm_parser *")
        p.msgs, p.msgs_max = self.msgs, self.MSGS
        p.routes, p.routes_max = self.routes, self.ROUTES
        p.stats, p.stats_max = self.stats, self.STATS
        p.tables, p.tables_max = self.tables, self.TABLES
        self.parser = p


_arrays = _Arrays()


def _stats_from_c(s: rtm_stats, tables: Array[rtm_table_stats]) -> Stats:
    rows = []
    for i in range(s.table_first, s.table_first + s.table_count):
        t = tables[i]
        rows.append(TableStats(t.table, _VERSION.get(t.family, t.family), t.routes))
    return Stats(
        routes4=s.routes4,
        routes6=s.routes6,
        tables=tuple(rows),
        memory=s.memory,
        generation=s.generation,
        requests=s.requests,
        errors=s.errors,
        max_routes=s.max_routes,
        misses=s.misses,
        table_count=s.tables,
    )


def _malformed_reason(m: rtm_msg) -> str:
    text = ffi.string(lib.rtm_bad_str(m.bad)).decode()
    where = []
    if m.bad_attr:
        where.append(f"attribute {m.bad_attr}")
    if m.bad_off:
        where.append(f"byte {m.bad_off} of the message")
    return f"{text} ({', '.join(where)})" if where else text


class _Header(TypedDict):
    """The fields every Message has, from the netlink header."""

    type: int
    flags: int
    seq: int
    pid: int
    kind: str
    multi: bool
    dump_intr: bool


def _message(m: rtm_msg, data: bytes, base: int, a: _Arrays) -> Message:
    kind = _KINDS.get(m.kind, "other")
    flags = m.flags
    if kind == "route":  # the bulk of every dump: positional, no dict
        return Message(
            m.type, flags, m.seq, m.pid, kind, _route_from_c(a.routes[m.route]),
            multi=bool(flags & _MULTI), dump_intr=bool(flags & _DUMP_INTR),
        )
    common = _Header(
        type=m.type,
        flags=flags,
        seq=m.seq,
        pid=m.pid,
        kind=kind,
        multi=bool(flags & lib.NLM_F_MULTI),
        dump_intr=bool(flags & lib.NLM_F_DUMP_INTR),
    )
    if kind == "lookup":
        route = _route_from_c(a.routes[m.route]) if m.route >= 0 else None
        addr = _addr_from_c(m.family, m.addr)
        return Message(route=route, lookup=LookupResult(addr, route), **common)
    if kind == "flush":
        return Message(
            count=m.count if m.has_count else None, filter=_filter_from_c(m.filter), **common
        )
    if kind == "stats":
        return Message(stats=_stats_from_c(a.stats[m.stats], a.tables), **common)
    if kind in ("ack", "error", "done"):
        ext_ack = None
        if m.ext_ack_len:
            start = base + m.ext_ack_off
            ext_ack = data[start : start + m.ext_ack_len].decode("utf-8", "replace")
        answers = m.type == lib.NLMSG_ERROR  # an ACK or error carries its request's header
        return Message(
            error=m.error,
            ext_ack=ext_ack,
            offset=m.err_off if m.has_err_off else None,
            request_type=m.req_type if answers else None,
            request_seq=m.req_seq if answers else None,
            **common,
        )
    if kind == "malformed":
        return Message(error=_errno.EBADMSG, reason=_malformed_reason(m), **common)
    return Message(**common)


def parse(buf: Union[bytes, bytearray, memoryview]) -> list[Message]:
    """Every message in a receive buffer, in order.

    Malformed messages come back as ``kind == "malformed"`` records with a
    ``reason``; nothing here raises on bad input.
    """
    data = bytes(buf)
    a = _arrays
    out: list[Message] = []
    view = ffi.from_buffer(data)
    off = 0
    while off < len(data):
        n = lib.rtm_parse(a.parser, view + off, len(data) - off)
        if n < 0:
            raise errors.error_for(ffi.errno or _errno.EINVAL, None, "parse a receive buffer")
        p = a.parser
        for i in range(p.n_msgs):
            out.append(_message(a.msgs[i], data, off, a))
        if n == 0:  # cannot happen: rtm_parse always takes one message
            break
        off += n
    return out


# ---- decoder -----------------------------------------------------------------


def decode(buf: Union[bytes, bytearray, memoryview]) -> str:
    """Every message of a buffer as readable text (header, flags, attributes, bytes)."""
    data = bytes(buf)
    size = 4096 + 8 * len(data)
    while True:
        out = ffi.new("char[]", size)
        need = lib.rtm_decode(ffi.from_buffer(data), len(data), out, size)
        if need < size:
            return ffi.buffer(out, need)[:].decode("ascii", "replace")
        size = need + 1


# ---- socket ------------------------------------------------------------------


class NetlinkSocket:
    """A netlink socket to rtmgr: extended ACK on, capped ACKs, overruns reported.

    ``groups``: multicast groups to join, as a bind() mask (GROUP_ROUTE);
    ``rcvbuf``: receive buffer size in bytes (forced past rmem_max when
    privileged).  ``recv`` blocks in C with the GIL released.
    """

    def __init__(
        self,
        groups: int = 0,
        rcvbuf: Optional[int] = None,
        *,
        protocol: int = lib.NETLINK_RTMGR,
        bufsize: int = RECV_BUFSIZE,
    ):
        self._sock = ffi.new("struct rtm_sock *")
        self._sock.fd = -1
        self._protocol = protocol
        request = f"open netlink socket (protocol {protocol})"
        if lib.rtm_sock_open(self._sock, protocol, groups, rcvbuf or 0) < 0:
            err = ffi.errno
            if err == _errno.EPROTONOSUPPORT and protocol == lib.NETLINK_RTMGR:
                raise errors.ModuleNotLoaded(err, None, request)
            raise errors.error_for(err, None, request)
        self._buf = ffi.new("uint8_t[]", bufsize)
        self._bufsize = bufsize
        self._recv_lock = threading.Lock()

    @property
    def portid(self) -> int:
        return self._sock.portid

    @property
    def closed(self) -> bool:
        return self._sock.fd < 0

    def fileno(self) -> int:
        return self._sock.fd

    def _check_open(self, what: str) -> None:
        if self._sock.fd < 0:
            raise errors.RtmgrError(_errno.EBADF, "the socket is closed", what)

    def set_rcvbuf(self, size: int) -> None:
        self._check_open("set receive buffer")
        if lib.rtm_sock_set_rcvbuf(self._sock, size) < 0:
            raise _fail(f"set receive buffer to {size} bytes")

    def join(self, group: int) -> None:
        """Join a multicast group by number (RTMGR_GRP_ROUTE)."""
        self._check_open("join group")
        if lib.rtm_sock_join(self._sock, group) < 0:
            raise _fail(f"join multicast group {group}")

    def send(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """Send one buffer (one or many requests) to the kernel."""
        self._check_open("send")
        data = bytes(data)
        while True:
            n = lib.rtm_sock_send(self._sock, data, len(data))
            if n >= 0:
                return n
            err = ffi.errno
            if err != _errno.EINTR:
                raise errors.error_for(err, None, f"send {len(data)} bytes")

    def recv(self, timeout: Optional[float] = None, *, queued: bool = False) -> Optional[bytes]:
        """One datagram from the kernel; None when ``timeout`` seconds pass first.

        With ``queued``, also every further datagram already queued that fits
        the buffer, back to back (rtm_sock_recv_queued): one call, one parse
        for a burst of small datagrams.  Raises :class:`errors.Overrun` when
        the socket overran (messages lost); what was queued before the loss
        comes first.
        """
        receive = lib.rtm_sock_recv_queued if queued else lib.rtm_sock_recv
        self._check_open("receive")
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._recv_lock:
            while True:
                if deadline is None:
                    ms = -1
                else:
                    ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))
                n = receive(self._sock, self._buf, self._bufsize, ms)
                if n >= 0:
                    return ffi.buffer(self._buf, n)[:]
                err = ffi.errno
                if err == _errno.EAGAIN:
                    return None
                if err == _errno.EINTR:
                    continue  # a signal: Python runs its handler, then we wait on
                if err == _errno.ENOBUFS:
                    raise errors.Overrun(err, None, "receive")
                if err == _errno.EMSGSIZE:
                    raise errors.ProtocolError(
                        err, f"a datagram larger than the {self._bufsize}-byte buffer was lost", "receive"
                    )
                raise errors.error_for(err, None, "receive")

    def close(self) -> None:
        if self._sock.fd >= 0:
            lib.rtm_sock_close(self._sock)

    def __enter__(self) -> "NetlinkSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None and sock.fd >= 0:
            lib.rtm_sock_close(sock)
