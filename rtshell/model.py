"""The objects rtshell passes around: routes, next hops, filters, events.

Every class here is a frozen dataclass.  Addresses are :mod:`ipaddress`
objects; devices are interface indexes (names are resolved where text meets
the user: the command parser and the renderers).  Enum values come from the
UAPI header through the compiled binding, never from a copy.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Iterable, Optional, Union

from rtshell import protocol as P

if TYPE_CHECKING:
    from rtshell.names import Devices

Address = Union[IPv4Address, IPv6Address]
Network = Union[IPv4Network, IPv6Network]

TABLE_MAIN = P.RTMGR_TABLE_MAIN


class RouteType(enum.IntEnum):
    UNSPEC = P.RTMGR_TYPE_UNSPEC
    UNICAST = P.RTMGR_TYPE_UNICAST
    BLACKHOLE = P.RTMGR_TYPE_BLACKHOLE
    UNREACHABLE = P.RTMGR_TYPE_UNREACHABLE
    PROHIBIT = P.RTMGR_TYPE_PROHIBIT

    @property
    def label(self) -> str:
        return self.name.lower()


class Match(enum.IntEnum):
    """How a filter's prefix relates to the routes it selects."""

    EXACT = P.RTMGR_MATCH_EXACT  # the route is the prefix
    ROOT = P.RTMGR_MATCH_ROOT  # the route lies inside the prefix
    MATCH = P.RTMGR_MATCH_MATCH  # the route contains the prefix


def family_of(obj: Union[Address, Network]) -> int:
    """4 or 6."""
    return obj.version


U32_MAX = 0xFFFFFFFF
WEIGHT_MAX = P.RTMGR_WEIGHT_MAX
_NETWORKS = (IPv4Network, IPv6Network)
_ADDRESSES = (IPv4Address, IPv6Address)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # a frozen dataclass coercing its input


def _as_network(value: object, what: str) -> Network:
    if isinstance(value, _NETWORKS):
        return value
    if isinstance(value, str):
        return parse_prefix_family(value)
    raise TypeError(f"{what} must be a prefix such as '10.0.0.0/8' or an ip_network, "
                    f"not {type(value).__name__}")


def _as_address(value: object, what: str) -> Optional[Address]:
    if value is None or isinstance(value, _ADDRESSES):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{what} {value!r} is not an IPv4 or IPv6 address") from None
    raise TypeError(f"{what} must be an address such as '10.99.0.2' or an ip_address, "
                    f"not {type(value).__name__}")


def _check_int(value: object, what: str) -> None:
    """Types here; ranges where the request is built (bindings/rtm_build.c),
    whose error names the request."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")


def _check_oif(value: object, what: str = "oif") -> None:
    if value is not None:
        _check_int(value, f"{what} (an interface index)")


@dataclass(frozen=True)
class NextHop:
    """One next hop: a gateway, a device (interface index) or both."""

    gateway: Optional[Address] = None
    oif: Optional[int] = None
    weight: int = 1

    if TYPE_CHECKING:
        # what __init__ takes (the dataclass's own, at run time): a string gateway is parsed
        def __init__(self, gateway: Union[Address, str, None] = None, oif: Optional[int] = None,
                     weight: int = 1) -> None: ...

    def __post_init__(self) -> None:
        if self.gateway is not None and not isinstance(self.gateway, _ADDRESSES):
            _set(self, "gateway", _as_address(self.gateway, "next-hop gateway"))
        _check_oif(self.oif, "next-hop oif")
        _check_int(self.weight, "next-hop weight")


@dataclass(frozen=True)
class Route:
    """A route: its key (table, family, dst) and its value.

    Built from Python values (strings are parsed: ``Route(dst="10.0.0.0/8",
    gateway="10.99.0.2")``) or from `ip route` words with :meth:`parse`.
    A value of the wrong type, or a string that is no address, raises
    TypeError or ValueError here; a number out of range or a gateway of the
    other family is refused (InvalidRequest, a ValueError naming the
    request) when the request is built.
    """

    dst: Network
    table: int = TABLE_MAIN
    type: RouteType = RouteType.UNICAST
    proto: int = 0
    metric: int = 0
    gateway: Optional[Address] = None
    oif: Optional[int] = None
    nexthops: tuple[NextHop, ...] = ()
    created: Optional[int] = field(default=None, compare=False)
    changed: Optional[int] = field(default=None, compare=False)

    if TYPE_CHECKING:
        # what __init__ takes (the dataclass's own, at run time): strings are
        # parsed, an int becomes a RouteType, any iterable of next hops a tuple
        def __init__(self, dst: Union[Network, str], table: int = TABLE_MAIN,
                     type: Union[RouteType, int] = RouteType.UNICAST, proto: int = 0, metric: int = 0,
                     gateway: Union[Address, str, None] = None, oif: Optional[int] = None,
                     nexthops: Iterable[NextHop] = (), created: Optional[int] = None,
                     changed: Optional[int] = None) -> None: ...

    def __post_init__(self) -> None:
        if not isinstance(self.dst, _NETWORKS):
            _set(self, "dst", _as_network(self.dst, "dst"))
        if self.gateway is not None and not isinstance(self.gateway, _ADDRESSES):
            _set(self, "gateway", _as_address(self.gateway, "gateway"))
        if type(self.type) is not RouteType:
            _set(self, "type", RouteType(self.type))
        for name in ("table", "metric", "proto"):
            _check_int(getattr(self, name), name)
        _check_oif(self.oif)
        if type(self.nexthops) is not tuple:
            _set(self, "nexthops", tuple(self.nexthops))
        for hop in self.nexthops:
            if not isinstance(hop, NextHop):
                raise TypeError(f"nexthops must hold NextHop objects, not {type(hop).__name__}")

    @classmethod
    def parse(cls, text: str, *, devices: Optional[Devices] = None) -> Route:
        """A route from the words of `ip route add` after the verb.

        ``Route.parse("10.0.0.0/8 via 10.99.0.2 dev eth0 metric 10 table 100")``.
        Device names are resolved through ``devices`` (a
        :class:`rtshell.names.Devices`; by default this namespace's).  A
        ValueError names the word to blame.
        """
        from rtshell import names
        from rtshell.commands.executor import Context
        from rtshell.commands.registry import parse
        from rtshell.commands.routes import build_route

        ctx = Context(devices if devices is not None else names.Devices())
        parsed = parse(f"route add {text}", ctx)
        if parsed is None:
            raise ValueError("no route in an empty line")
        return build_route(parsed)

    def __str__(self) -> str:
        """The route in ip's words, devices by their names here: ``Route.parse`` reads it back."""
        from rtshell import names
        from rtshell.words import route_text

        return route_text(self, names.Devices() if self.oif is not None or self.nexthops else None)

    @property
    def family(self) -> int:
        return self.dst.version

    @property
    def key(self) -> tuple[int, int, Network, int]:
        """(table, family, prefix, metric): a prefix holds one route per metric, as in the FIB."""
        return (self.table, self.family, self.dst, self.metric)

    def all_nexthops(self) -> tuple[NextHop, ...]:
        """The next hops in one form, whether the route is single- or multipath."""
        if self.nexthops:
            return self.nexthops
        if self.gateway is None and self.oif is None:
            return ()
        return (NextHop(self.gateway, self.oif, 1),)


def route_from_wire(dst: Network, table: int, type: RouteType, proto: int, metric: int,
                    gateway: Optional[Address], oif: Optional[int], nexthops: tuple[NextHop, ...],
                    created: Optional[int], changed: Optional[int]) -> Route:
    """A Route from values the parser already has in their final types.

    The same object ``Route(...)`` makes (equal, same hash and repr, still
    frozen), without the frozen dataclass ``__init__``, which sets each field
    through ``object.__setattr__``: a dump builds one per route, and this is
    about 5x cheaper.  Only for trusted values (rtshell.netlink's parser).
    """
    route = _new(Route)
    # the instance dict written directly: what object.__setattr__ would do
    route.__dict__.update(dst=dst, table=table, type=type, proto=proto, metric=metric,
                          gateway=gateway, oif=oif, nexthops=nexthops, created=created,
                          changed=changed)
    return route


_new = object.__new__


def sort_key(route: Route) -> tuple[int, int, int, int, int]:
    """The kernel's dump order: table, family, prefix address, prefix length, metric."""
    return (route.table, route.family, int(route.dst.network_address), route.dst.prefixlen, route.metric)


@dataclass(frozen=True)
class Filter:
    """Selects routes for dump, flush and monitor; None means any."""

    family: Optional[int] = None
    table: Optional[int] = None
    type: Optional[RouteType] = None
    proto: Optional[int] = None
    oif: Optional[int] = None
    gateway: Optional[Address] = None
    metric: Optional[int] = None
    prefix: Optional[Network] = None
    match: Match = Match.EXACT

    if TYPE_CHECKING:
        # what __init__ takes (the dataclass's own, at run time): strings are
        # parsed, ints become a RouteType and a Match
        def __init__(self, family: Optional[int] = None, table: Optional[int] = None,
                     type: Union[RouteType, int, None] = None, proto: Optional[int] = None,
                     oif: Optional[int] = None, gateway: Union[Address, str, None] = None,
                     metric: Optional[int] = None, prefix: Union[Network, str, None] = None,
                     match: Union[Match, int] = Match.EXACT) -> None: ...

    def __post_init__(self) -> None:
        if self.prefix is not None and not isinstance(self.prefix, _NETWORKS):
            _set(self, "prefix", _as_network(self.prefix, "prefix"))
        if self.gateway is not None and not isinstance(self.gateway, _ADDRESSES):
            _set(self, "gateway", _as_address(self.gateway, "gateway"))
        if self.family not in (None, 4, 6):
            raise ValueError(f"family must be 4, 6 or None, not {self.family!r}")
        if self.type is not None and type(self.type) is not RouteType:
            _set(self, "type", RouteType(self.type))
        if type(self.match) is not Match:
            _set(self, "match", Match(self.match))
        for name in ("table", "metric", "proto"):
            if getattr(self, name) is not None:
                _check_int(getattr(self, name), name)
        _check_oif(self.oif)

    def matches(self, route: Route) -> bool:
        """The same test the kernel applies (kernel/dump.c: filter_match)."""
        if self.family is not None and route.family != self.family:
            return False
        if self.table is not None and route.table != self.table:
            return False
        if self.type is not None and route.type != self.type:
            return False
        if self.proto is not None and route.proto != self.proto:
            return False
        if self.metric is not None and route.metric != self.metric:
            return False
        if self.oif is not None or self.gateway is not None:  # one next hop with both
            if not any((self.oif is None or h.oif == self.oif) and (self.gateway is None or h.gateway == self.gateway)
                       for h in route.all_nexthops()):
                return False
        if self.prefix is not None:
            if route.family != self.prefix.version:
                return False
            if self.match == Match.EXACT:
                return route.dst == self.prefix
            if self.match == Match.ROOT:
                return _subnet_of(route.dst, self.prefix)
            return _subnet_of(self.prefix, route.dst)
        return True


def _subnet_of(a: Network, b: Network) -> bool:
    """``a.subnet_of(b)`` for two networks of one family (the caller compared them)."""
    if isinstance(a, IPv4Network):
        return isinstance(b, IPv4Network) and a.subnet_of(b)
    return isinstance(b, IPv6Network) and a.subnet_of(b)


@dataclass(frozen=True)
class LookupResult:
    addr: Address
    route: Optional[Route]


@dataclass(frozen=True)
class TableStats:
    table: int
    family: int
    routes: int


@dataclass(frozen=True)
class Stats:
    """The module's counters for one network namespace.

    ``tables`` lists the routes per (table, family) only when they were
    asked for (``Client.stats(tables=True)``); ``table_count`` is always the
    number of such pairs.  ``errors`` counts refused requests; reads that
    found no route are ``misses``, not errors.
    """

    routes4: int
    routes6: int
    tables: tuple[TableStats, ...]
    memory: int
    generation: int
    requests: int
    errors: int
    max_routes: int
    misses: int = 0
    table_count: int = 0


@dataclass(frozen=True)
class Effect:
    """What a change does to a copy of the table, in the order to apply it:
    ``removed`` go (by key), then ``flushed``'s routes go (a flush), then
    ``put`` are set (by key)."""

    removed: tuple["Route", ...] = ()
    put: tuple["Route", ...] = ()
    flushed: Optional[Filter] = None

    def apply_to(self, table: dict[tuple[int, int, Network, int], "Route"]) -> None:
        """To a table kept as ``{route.key: route}``."""
        for route in self.removed:
            table.pop(route.key, None)
        if self.flushed is not None:
            for key in [k for k, r in table.items() if self.flushed.matches(r)]:
                del table[key]
        for route in self.put:
            table[route.key] = route


@dataclass(frozen=True)
class Event:
    """A notification from the kernel."""

    kind: str  # "new" | "del" | "flush"
    route: Optional[Route] = None
    filter: Optional[Filter] = None
    count: int = 1
    pid: int = 0  # port id of the requester; 0 when the kernel itself acted
    seq: int = 0
    time: Optional[float] = field(default=None, compare=False)  # when the client received it (epoch s)

    def effect(self) -> "Effect":
        """What this change does to a copy of the table: the one reading of
        an event every copy applies (the client's resync mirror, the shell's
        completion index, watch), each to its own index."""
        if self.kind == "new" and self.route is not None:
            return Effect(put=(self.route,))
        if self.kind == "del" and self.route is not None:
            return Effect(removed=(self.route,))
        if self.kind == "flush":
            return Effect(flushed=self.filter or Filter())
        return Effect()  # an overrun: nothing is known

    def apply_to(self, table: dict[tuple[int, int, Network, int], "Route"]) -> None:
        """Make a table kept as ``{route.key: route}`` what the kernel's is after this change."""
        self.effect().apply_to(table)


@dataclass(frozen=True)
class ResyncEvent(Event):
    """What changed while notifications were lost (kind ``"resync"``).

    Delivered after a notification overrun to every subscriber while at
    least one subscriber asked for ``resync=True`` (otherwise they get a
    plain ``Event(kind="overrun", count=0)``: events were lost, nothing
    more is known), and once, as the first event, to each ``resync=True``
    subscriber (then with ``initial=True`` and every current route in
    ``added``).  ``count`` is the number of routes listed.  Applying
    ``removed`` (delete by key), then ``added`` and ``changed`` (set by key)
    to a table that followed the events before the gap gives the kernel's
    table.  Events delivered after a resync may repeat changes it already
    contains; applying them again changes nothing.
    """

    added: tuple[Route, ...] = ()
    removed: tuple[Route, ...] = ()
    changed: tuple[Route, ...] = ()
    initial: bool = False

    def effect(self) -> "Effect":
        """Remove what the gap removed, then set what it added and changed."""
        return Effect(removed=self.removed, put=self.added + self.changed)


def parse_prefix(text: str) -> Network:
    """'10.0.0.0/8', '2001:db8::/32', a bare address (host route) or 'default'.

    Refuses host bits set, like ``ip route``: the message names the network
    the user probably meant.
    """
    text = text.strip()
    if text == "default":
        raise ValueError("'default' needs a family: use parse_prefix_family")
    if not text:
        raise ValueError("empty prefix")
    addr_text, slash, len_text = text.partition("/")
    try:
        addr = ipaddress.ip_address(addr_text)  # parsed once: a batch reads many of these
    except ValueError:
        if slash:
            raise ValueError(f"{text!r} is not a prefix: {addr_text!r} is not an address") from None
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a prefix: {exc}") from None
        raise ValueError(f"{text!r} is not a prefix") from None
    width = addr.max_prefixlen
    if slash and (not len_text.isdigit() or int(len_text) > width):
        raise ValueError(f"prefix length {len_text!r} out of range 0..{width} for IPv{addr.version}")
    plen = int(len_text) if slash else width
    net_class = ipaddress.IPv4Network if addr.version == 4 else ipaddress.IPv6Network
    net = net_class((int(addr), plen), strict=False)
    if int(net.network_address) != int(addr):
        raise ValueError(f"{text} has host bits set (did you mean {net}?)")
    return net


def parse_prefix_family(text: str, family: Optional[int] = None) -> Network:
    """Like parse_prefix, and 'default' is 0.0.0.0/0 (family 4 or None) or ::/0 (6).

    When family is given, a prefix of the other family is refused.
    """
    text = text.strip()
    if text == "default":
        return IPv6Network("::/0") if family == 6 else IPv4Network("0.0.0.0/0")
    net = parse_prefix(text)
    if family is not None and net.version != family:
        raise ValueError(f"{text} is not an IPv{family} prefix")
    return net
