"""The route commands: their syntax, and the one command -> request mapping.

``route add|replace|change|append|del`` build a :class:`~rtshell.model.Route`;
``route show|flush`` (and ``monitor``, ``watch``, ``save``) a
:class:`~rtshell.model.Filter`.  The family comes from the addresses, as in
``ip route``: ``default`` is 0.0.0.0/0 unless ``-6`` or an IPv6 gateway says
::/0.  Every inconsistency is a ParseError pointing at the word to blame, so
the toolbar shows it before Enter.
"""

from __future__ import annotations

from typing import Any, Optional

from rtshell import names
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.commands.grammar import Foreign, Group, Opt, Pos, Syntax
from rtshell.commands.kinds import ALL
from rtshell.commands.registry import REGISTRY, Parsed, command
from rtshell.commands.request import Request
from rtshell.model import (
    Filter, Match, NextHop, Route, RouteType, parse_prefix_family,
)

# Any unique prefix of a command word is that word (``route sh``); where
# ip's own shortcut is no unique prefix here, it is taken as ip takes it
# (ip matches its verbs in a fixed order: ``a`` is add, not append).
REGISTRY.group("route", "add, change, delete, look up and list routes",
               shortcuts={"a": "add", "d": "del", "s": "show", "l": "list", "chg": "change",
                          "lst": "list"})
REGISTRY.shortcut("", "r", "route")

MAX_NEXTHOPS = P.RTMGR_MAX_NEXTHOPS
DEFAULT_PROTO = names.DEFAULT_PROTOS["boot"]  # what `ip route add` records

# -- words of the kernel's FIB (ip-route(8)) that rtmgr routes do not have -----------
#
# Pasted from `ip route`, each is refused with a line that says so; with
# --lenient (`lenient on`) a route change drops them with a warning, so the
# output of `ip route show` can be restored.  A filter never drops one: a
# flush without its `scope link` would delete more than was asked.

_ATTRS_1 = ("scope", "src", "tos", "dsfield", "realm", "realms", "expires", "mtu", "advmss", "rtt",
            "rttvar", "reordering", "window", "cwnd", "ssthresh", "initcwnd", "initrwnd",
            "features", "quickack", "congctl", "hoplimit", "fastopen_no_cookie", "rto_min",
            "pref", "ttl-propagate", "from", "vrf", "as")
_FLAGS = ("onlink", "pervasive", "linkdown", "dead", "offload", "trap", "rt_offload_failed")
FIB_TYPES = ("local", "broadcast", "anycast", "multicast", "nat", "throw", "xresolve")
_RTMGR_TYPES = ", ".join(t for t in names.type_names() if t != "unspec")

FIB_ONLY: dict[str, Foreign] = {
    **{w: Foreign(1, f"'{w}' is an attribute of the kernel's FIB: rtmgr routes have none")
       for w in _ATTRS_1},
    **{w: Foreign(0, f"'{w}' is a next-hop flag of the kernel's FIB: rtmgr has none") for w in _FLAGS},
    **{w: Foreign(0, f"'{w}' routes belong to the kernel's FIB: rtmgr keeps {_RTMGR_TYPES} routes", line=True)
       for w in FIB_TYPES},
    "encap": Foreign(1, "'encap': rtmgr routes carry no encapsulation", never=True),
    "nhid": Foreign(1, "'nhid': rtmgr routes name their next hops (via, dev, nexthop), "
                       "not nexthop objects", never=True),
}
FIB_ONLY_FILTER = {w: f._replace(never=True) for w, f in FIB_ONLY.items()}

FAMILY = (
    Opt("-4", "family", None, "IPv4 (default is 0.0.0.0/0)", const=4, excl="family"),
    Opt("-6", "family", None, "IPv6 (default is ::/0)", const=6, excl="family"),
)

TYPE_POS = Pos("type", "choice", "route type", required=False, choices=tuple(names.type_names()),
              leading=True)

VIA = Opt("via", "gateway", "gateway", "next-hop gateway address", meta="GW")
DEV = Opt("dev", "oif", "dev", "output device", meta="IF", aliases=("oif",))
METRIC = Opt("metric", "metric", "uint", "metric (priority), part of the key: a prefix may hold one route per metric; the lowest wins", meta="N",
             aliases=("priority", "preference"))
TABLE = Opt("table", "table", "table", "routing table (default main)", meta="T")
TYPE = Opt("type", "type", "type", "route type", meta="TYPE")
PROTO = Opt("proto", "proto", "proto", "origin protocol (default boot)", meta="P", aliases=("protocol",))

NEXTHOP = Group("nexthop", "nexthops", (
    Opt("via", "gateway", "gateway", "gateway of this next hop", meta="GW"),
    Opt("dev", "oif", "dev", "device of this next hop", meta="IF"),
    Opt("weight", "weight", "weight", "share of traffic, 1..256", meta="W"),
), "one next hop of a multipath route")


def _change_syntax(dst_kind: str, groups: bool = True) -> Syntax:
    return Syntax(
        positionals=(TYPE_POS, Pos("dst", dst_kind, "destination prefix", meta="PREFIX")),
        options=(VIA, DEV, METRIC, TABLE, TYPE, PROTO) + FAMILY,
        groups=(NEXTHOP,) if groups else (),
        noise=("to",), foreign=FIB_ONLY,
    )


FILTER_OPTS = (
    Opt("root", "prefix", "live_prefix", "routes inside PREFIX", meta="PREFIX",
        also=(("match", Match.ROOT),), excl="prefix"),
    Opt("match", "prefix", "live_prefix", "routes that contain PREFIX", meta="PREFIX",
        also=(("match", Match.MATCH),), excl="prefix"),
    Opt("exact", "prefix", "live_prefix", "exactly PREFIX", meta="PREFIX",
        also=(("match", Match.EXACT),), excl="prefix"),
    Opt("dev", "oif", "dev", "routes through this device", meta="IF", aliases=("oif",)),
    Opt("via", "gateway", "gateway", "routes through this gateway", meta="GW"),
    Opt("table", "table", "table_filter", "only this table, or all", meta="T"),
    Opt("proto", "proto", "proto", "only routes of this protocol", meta="P", aliases=("protocol",)),
    Opt("type", "type", "type", "only routes of this type", meta="TYPE"),
    Opt("metric", "metric", "uint", "only routes of this metric", meta="N"),
) + FAMILY

FILTER_SYNTAX = Syntax(options=FILTER_OPTS, foreign=FIB_ONLY_FILTER)

FILTER_KEYS = ("prefix", "oif", "gateway", "table", "proto", "type", "metric", "family")


# -- building routes and filters ----------------------------------------------------


def _family(p: Parsed, addrs: dict[Any, Any], default: int = 4) -> int:
    """The family the command is about; every address must agree with it."""
    family = p.values.get("family")
    source = "-4" if family == 4 else "-6" if family == 6 else None
    for dest, addr in addrs.items():
        if addr is None or addr == "default" or addr is ALL:
            continue
        if family is None:
            family, source = addr.version, str(addr)
            continue
        if addr.version != family:
            what = "gateway " + str(addr) if "gateway" in str(dest) else str(addr)
            raise p.error(dest, f"{what} is IPv{addr.version}, but {source} is IPv{family}")
    return family if family is not None else default


def _type(value) -> Optional[RouteType]:
    if value is None:
        return None
    if isinstance(value, str):
        return names.parse_type(value)
    return RouteType(value)


def build_route(p: Parsed, *, delete: bool = False) -> Route:
    v = p.values
    hops_in: list[dict] = v.get("nexthops", [])
    addrs: dict[Any, Any] = {"dst": v["dst"], "gateway": v.get("gateway")}
    for i, hop in enumerate(hops_in):
        addrs[("nexthops", i, "gateway")] = hop.get("gateway")
    family = _family(p, addrs)
    dst = v["dst"]
    if dst == "default":
        dst = parse_prefix_family("default", family)
    rtype = _type(v.get("type"))
    table = v.get("table", MAIN)
    if delete:
        return Route(dst=dst, table=table, type=rtype or RouteType.UNSPEC, proto=v.get("proto", 0),
                     metric=v.get("metric", 0), gateway=v.get("gateway"), oif=v.get("oif"))
    rtype = rtype or RouteType.UNICAST
    gateway, oif = v.get("gateway"), v.get("oif")
    if hops_in and (gateway is not None or oif is not None):
        raise p.error(("nexthops", 0), "use either via/dev or nexthop, not both")
    hops: list[NextHop] = []
    for i, hop in enumerate(hops_in):
        if hop.get("gateway") is None and hop.get("oif") is None:
            raise p.error(("nexthops", i), "a nexthop needs via GW or dev IF")
        nh = NextHop(hop.get("gateway"), hop.get("oif"), hop.get("weight", 1))
        if any(h.gateway == nh.gateway and h.oif == nh.oif for h in hops):
            raise p.error(("nexthops", i), "the same next hop given twice")
        hops.append(nh)
        if len(hops) > MAX_NEXTHOPS:
            raise p.error(("nexthops", i), f"at most {MAX_NEXTHOPS} next hops")
    if rtype != RouteType.UNICAST:
        for dest in ("gateway", "oif", ("nexthops", 0)):
            if dest in p.where:
                raise p.error(dest, f"a {rtype.label} route takes no gateway or device")
    elif gateway is None and oif is None and not hops:
        raise p.error("_end", "a unicast route needs via GW, dev IF or nexthop")
    if len(hops) == 1:
        gateway, oif, hops = hops[0].gateway, hops[0].oif, []
    return Route(dst=dst, table=table, type=rtype, proto=v.get("proto", DEFAULT_PROTO),
                 metric=v.get("metric", 0), gateway=gateway, oif=oif, nexthops=tuple(hops))


MAIN = names.DEFAULT_TABLES["main"]


def build_filter(p: Parsed, default_table: Optional[int] = None) -> Filter:
    """The filter of a show/flush/monitor/...: ``default_table`` unless
    ``table T`` or ``table all`` (ip's route show and flush act on main)."""
    v = p.values
    family = None
    if "family" in v or "prefix" in v or "gateway" in v:
        family = _family(p, {"prefix": v.get("prefix"), "gateway": v.get("gateway")}, default=None)
    prefix = v.get("prefix")
    if prefix == "default":
        family = family or 4
        prefix = parse_prefix_family("default", family)
    table = v.get("table", default_table)
    return Filter(
        family=family,
        table=None if table is ALL else table,
        type=_type(v.get("type")),
        proto=v.get("proto"),
        oif=v.get("oif"),
        gateway=v.get("gateway"),
        metric=v.get("metric"),
        prefix=prefix,
        match=v.get("match", Match.EXACT),
    )


def has_filter(p: Parsed) -> bool:
    return any(k in p.values for k in FILTER_KEYS)



# -- route add / replace / change / append / del -------------------------------------

CHANGE_HELP = """\
The destination is a prefix (10.0.0.0/8, 2001:db8::/32), a bare address (a
host route) or default (0.0.0.0/0, or ::/0 with -6 or an IPv6 gateway).
A unicast route needs a gateway (via), a device (dev) or next hops
(nexthop via GW dev IF weight W, repeated: a multipath route).  blackhole,
unreachable and prohibit routes take neither; the type may lead, as in
ip route: route add blackhole 10.0.0.0/8."""


def _change_request(method: str):
    def request(p: Parsed, ctx) -> tuple[Request, ...]:
        return (Request(method, (build_route(p, delete=method == "delete"),), p.text),)
    return request


def _run_change(ex, p: Parsed) -> None:
    ex.change(p)


#: the client method of each route change command
CHANGE_METHODS: dict[str, str] = {}


for _verb, _method, _kind, _summary, _aliases, _examples in (
    ("add", "add", "prefix", "add a route (fails if the key exists)", (),
     ("route add 10.0.0.0/8 via 10.99.0.2", "route add blackhole 192.0.2.0/24 table 100",
      "route add default via 2001:db8:ffff::2",
      "route add 10.1.0.0/16 nexthop via 10.99.0.2 weight 2 nexthop via 10.98.0.2")),
    ("replace", "replace", "live_prefix", "add a route, or overwrite the one with that key", (),
     ("route replace 10.0.0.0/8 dev dummy1 metric 5",)),
    ("change", "change", "live_prefix", "overwrite an existing route (fails if absent)", (),
     ("route change 10.0.0.0/8 via 10.98.0.2",)),
    ("append", "append", "live_prefix", "add next hops to a route (it becomes multipath)", (),
     ("route append 10.0.0.0/8 via 10.98.0.2",)),
):
    command(f"route {_verb}", _change_syntax(_kind), _summary, help=CHANGE_HELP,
            request=_change_request(_method), mutating=True, aliases=_aliases,
            examples=_examples)(_run_change)
    CHANGE_METHODS[f"route {_verb}"] = _method

command("route del", _change_syntax("live_prefix", groups=False),
        "delete a route; given via/dev/metric/type/proto must match it",
        help="The route is found by its key (table, prefix, metric: without one, the prefix's lowest); "
             "the other words, when given, must match it.",
        request=_change_request("delete"), mutating=True, aliases=("route delete",),
        examples=("route del 10.0.0.0/8", "route del default -6 table 100"))(_run_change)
CHANGE_METHODS["route del"] = "delete"

#: the keys rtm_text.c reads, by the grammar's destination of each
_LINE_KEYS = {"gateway": "via", "oif": "dev", "table": "table", "metric": "metric", "proto": "proto"}


def route_lines(devices: names.Devices) -> nl.RouteLines:
    """What the C library reads of a batch file without this grammar
    (bindings/rtm_text.c: ``route VERB PREFIX`` with via, dev, table, metric
    and proto), in this grammar's words: every word for 'route' and for a
    change verb the command tree resolves (abbreviations and ip's shortcuts
    too), the key words and their aliases, and the names of devices,
    tables and protocols.  A line in other words is left to the grammar,
    and tests/host/test_route_lines.py holds the two to the same bytes."""
    root = REGISTRY.root
    group_node = root.children["route"]

    def resolving(node, accept) -> dict:
        found = {}
        for word in list(node.children) + list(node.shortcuts):
            for k in range(1, len(word) + 1):
                prefix = word[:k]
                if prefix not in found:
                    target, _ = REGISTRY.step(node, prefix)
                    if target is not None and accept(target):
                        found[prefix] = target
        return found

    group = resolving(root, lambda n: n is group_node)
    verbs = {w: CHANGE_METHODS[n.spec.name] for w, n in resolving(
        group_node, lambda n: n.spec is not None and n.spec.name in CHANGE_METHODS).items()}
    keys = {w: _LINE_KEYS[o.dest] for w, o in _change_syntax("prefix").keyword_map().items()
            if o.dest in _LINE_KEYS}
    return nl.RouteLines(
        group, verbs, keys,
        devices={n: devices.index(n) for n in devices.names()},
        tables={n: names.parse_table(n) for n in names.table_names()},
        protos={n: names.parse_proto(n) for n in names.proto_names()},
        table_main=MAIN, proto_default=DEFAULT_PROTO)


# -- route get / lookup ----------------------------------------------------------------

GET_SYNTAX = Syntax(positionals=(Pos("dst", "live_prefix", "an address, or a route's prefix", meta="ADDR|PREFIX"),),
                    options=(TABLE,) + FAMILY + (
                        Opt("fibmatch", "fibmatch", None, "show the route that matches (what an address always does)"),
                        Opt("metric", "metric", "uint", "a PREFIX's route of this metric (default: its lowest)",
                            meta="N")),
                    noise=("to",), foreign=FIB_ONLY_FILTER)

GET_HELP = ("As `ip route get`: an address (no /LEN) is looked up, longest prefix first, and the route "
            "that matches is shown (`fibmatch` is accepted and changes nothing); a PREFIX/LEN is read "
            "exactly, and answers ENOENT when no route has that very prefix (`route show exact PREFIX` "
            "lists it too).  A prefix holds one route per metric: `metric N` reads that one, "
            "without it the lowest (the one an address takes).")


def _is_address(p: Parsed) -> bool:
    """`route get 10.1.2.3`: an address as typed, not PREFIX/LEN nor default."""
    tok = p.where.get("dst")
    text = tok.text if tok is not None else ""
    return "/" not in text and text != "default"


def _get_request(p: Parsed, ctx) -> tuple[Request, ...]:
    family = _family(p, {"dst": p.values["dst"]})
    dst = p.values["dst"]
    table = p.values.get("table", MAIN)
    if _is_address(p):
        if "metric" in p.values:
            raise p.error("metric", "metric names a PREFIX/LEN's route; an address takes the lowest")
        return (Request("lookup", (dst.network_address, table), p.text),)
    if dst == "default":
        dst = parse_prefix_family("default", family)
    return (Request("get", (dst, table, p.values.get("metric")), p.text),)


@command("route get", GET_SYNTAX, "the route an address takes (longest prefix), or the route with this PREFIX/LEN",
         request=_get_request, help=GET_HELP, paged=True,
         examples=("route get 10.1.2.3", "route get 10.0.0.0/8", "route get default -6"))
def _route_get(ex, p: Parsed) -> None:
    (req,) = p.request
    ex.output.route(ex.call(req))


LOOKUP_SYNTAX = Syntax(positionals=(Pos("addrs", "addr", "an address to look up", meta="ADDR", many=True),),
                       options=(TABLE,))


def _lookup_request(p: Parsed, ctx) -> tuple[Request, ...]:
    table = p.values.get("table", MAIN)
    by_family: dict[int, list] = {}
    for addr in p.values["addrs"]:
        by_family.setdefault(addr.version, []).append(addr)
    return tuple(Request("lookup_many", (tuple(addrs), table), p.text) for _, addrs in sorted(by_family.items()))


@command("route lookup", LOOKUP_SYNTAX, "longest-prefix match of one or more addresses",
         request=_lookup_request, paged=True, examples=("route lookup 10.1.2.3 10.99.0.7 2001:db8::1",))
def _route_lookup(ex, p: Parsed) -> None:
    results = {}
    for req in p.request:
        for res in ex.call(req):
            results[res.addr] = res
    ordered = []
    for addr in p.values["addrs"]:
        if addr in results:
            ordered.append(results[addr])
    ex.output.lookup(ordered)


# -- route show / flush ----------------------------------------------------------------

EXACT_POS = Pos("prefix", "live_prefix", "exactly this prefix", meta="PREFIX", required=False)
SHOW_SYNTAX = Syntax(positionals=(EXACT_POS,), options=FILTER_OPTS, noise=("to",), foreign=FIB_ONLY_FILTER)


def _show_request(p: Parsed, ctx) -> tuple[Request, ...]:
    flt = build_filter(p, MAIN)
    return (Request("dump", (flt if flt != Filter() else None,), p.text),)


@command("route show", SHOW_SYNTAX, "list routes (of main, unless table T or table all), filtered",
         help="As ip route show: the main table unless table T, or table all for every table.  "
              "root P: routes inside P; match P: routes that contain P; exact P (or a bare P): P itself.",
         request=_show_request, aliases=("route list", "route ls"), paged=True,
         examples=("route show", "route show table all", "route show root 10.0.0.0/8 table 100",
                   "route show dev dummy0 -6"))
def _route_show(ex, p: Parsed) -> None:
    (req,) = p.request
    it = ex.call(req)
    try:
        ex.output.routes(it)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


FLUSH_SYNTAX = Syntax(positionals=(Pos("all", "choice", "every route (of main, unless table T or table all)",
                                       required=False, choices=("all",)), EXACT_POS),
                      options=FILTER_OPTS, noise=("to",), foreign=FIB_ONLY_FILTER)


def _flush_check(p: Parsed, ctx) -> None:
    if "all" in p.values and any(k in p.values for k in FILTER_KEYS if k != "table"):
        raise p.error("all", "'all' flushes every route of the table: leave it out to flush by filter")
    if "all" not in p.values and not has_filter(p):
        raise p.error("_end", "route flush needs 'all' or a filter (dev, via, table, proto, type, "
                              "root|match|exact PREFIX, -4|-6)")


def _flush_request(p: Parsed, ctx) -> tuple[Request, ...]:
    return (Request("flush", (build_filter(p, MAIN),), p.text),)


@command("route flush", FLUSH_SYNTAX, "delete every route that passes a filter (in main, unless table T or all)",
         help="As ip route flush: the main table unless table T, or table all for every table; "
              "on a terminal, a flush of more than one table asks first.",
         check=_flush_check, request=_flush_request, mutating=True,
         examples=("route flush all", "route flush all table all", "route flush dev dummy1",
                   "route flush table 100 proto bgp"))
def _route_flush(ex, p: Parsed) -> None:
    (req,) = p.request
    flt = req.args[0]
    if flt.table is None and ex.confirm is not None and ex.txn is None:
        tables: dict[int, int] = {}
        for t in ex.client.stats(tables=True).tables:
            if t.routes and (flt.family is None or t.family == flt.family):
                tables[t.table] = tables.get(t.table, 0) + t.routes
        if len(tables) > 1 and not ex.confirm(
                f"{req.text}: this acts on {len(tables)} tables holding {sum(tables.values()):,} routes; "
                "go on?"):
            ex.output.info("nothing flushed", {"command": req.text, "deleted": 0})
            return
    ex.change(p)

