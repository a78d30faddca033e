"""Routes, filters and requests in the words of ``ip route``: the one place they are written.

The shell's plain output, ``save`` files, acknowledgements, ``str(route)``
and the request an error names (``route add 10.1.0.0/16 via 10.99.0.2
table main``, from the client, the netlink layer or the shell) all say a
route this way, and the grammar (``Route.parse``, ``route add``) reads it
back.  Needs nothing beyond the library (no rich).
"""

from __future__ import annotations

from typing import Optional

from rtshell import names
from rtshell.model import Filter, Match, Network, NextHop, Route, RouteType


def dev_name(devices: Optional[names.DeviceNames], oif: Optional[int]) -> Optional[str]:
    """A device's name ('if7' for an index no device has, or with no Devices to ask)."""
    if oif is None:
        return None
    return devices.name(oif) if devices is not None else f"if{oif}"


def nexthop_text(hop: NextHop, devices: Optional[names.DeviceNames] = None, weight: bool = True) -> str:
    parts = []
    if hop.gateway is not None:
        parts.append(f"via {hop.gateway}")
    if hop.oif is not None:
        parts.append(f"dev {dev_name(devices, hop.oif)}")
    if weight:
        parts.append(f"weight {hop.weight}")
    return " ".join(parts)


def route_text(route: Route, devices: Optional[names.DeviceNames] = None, *,
               table: bool = False) -> str:
    """The route in ``ip route`` words; the grammar parses it back.  The table
    is named when it is not main, or always with ``table`` (a request's text)."""
    parts = []
    if route.type not in (RouteType.UNICAST, RouteType.UNSPEC):
        parts.append(names.type_name(route.type))
    parts.append(prefix_text(route.dst))
    if route.gateway is not None:
        parts.append(f"via {route.gateway}")
    if route.oif is not None:
        parts.append(f"dev {dev_name(devices, route.oif)}")
    if route.metric:
        parts.append(f"metric {route.metric}")
    if table or route.table != names.DEFAULT_TABLES["main"]:
        parts.append(f"table {names.table_name(route.table)}")
    if route.proto:
        parts.append(f"proto {names.proto_name(route.proto)}")
    if route.family == 6 and route.dst.prefixlen == 0 and all(h.gateway is None for h in route.all_nexthops()):
        parts.append("-6")  # 'default' with no IPv6 address to tell the family
    for hop in route.nexthops:
        parts.append("nexthop " + nexthop_text(hop, devices))
    return " ".join(parts)


def prefix_text(net: Network) -> str:
    return str(net) if net.prefixlen else "default"


def filter_text(flt: Optional[Filter], devices: Optional[names.DeviceNames] = None) -> str:
    """A filter in the grammar's words ('' for everything)."""
    if flt is None:
        return ""
    parts = []
    if flt.prefix is not None:
        parts.append(f"{Match(flt.match).name.lower()} {flt.prefix}")
    if flt.oif is not None:
        parts.append(f"dev {dev_name(devices, flt.oif)}")
    if flt.gateway is not None:
        parts.append(f"via {flt.gateway}")
    if flt.table is not None:
        parts.append(f"table {names.table_name(flt.table)}")
    if flt.proto is not None:
        parts.append(f"proto {names.proto_name(flt.proto)}")
    if flt.type is not None:
        parts.append(f"type {names.type_name(flt.type)}")
    if flt.metric is not None:
        parts.append(f"metric {flt.metric}")
    if flt.family is not None and flt.prefix is None and flt.gateway is None:
        parts.append(f"-{flt.family}")
    return " ".join(parts)


def request_text(verb: str, obj: object, devices: Optional[names.DeviceNames] = None) -> str:
    """What a route request asked, as an error names it: ``route add
    10.1.0.0/16 via 10.99.0.2 table main``, ``route flush table 100``."""
    if isinstance(obj, Route):
        return f"route {verb} {route_text(obj, devices, table=True)}"
    if obj is None or isinstance(obj, Filter):
        return f"route {verb} {filter_text(obj, devices)}".rstrip()
    return f"route {verb} {obj}"
