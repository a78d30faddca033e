"""A route in the words of ``ip route``: the one place they are written.

The shell's plain output, ``save`` files, acknowledgements and ``str(route)``
all say a route this way, and the grammar (``Route.parse``, ``route add``)
reads it back.  Needs nothing beyond the library (no rich).
"""

from __future__ import annotations

from typing import Optional

from rtshell import names
from rtshell.model import Network, NextHop, Route, RouteType


def dev_name(devices: Optional[names.Devices], oif: Optional[int]) -> Optional[str]:
    """A device's name ('if7' for an index no device has, or with no Devices to ask)."""
    if oif is None:
        return None
    return devices.name(oif) if devices is not None else f"if{oif}"


def nexthop_text(hop: NextHop, devices: Optional[names.Devices] = None, weight: bool = True) -> str:
    parts = []
    if hop.gateway is not None:
        parts.append(f"via {hop.gateway}")
    if hop.oif is not None:
        parts.append(f"dev {dev_name(devices, hop.oif)}")
    if weight:
        parts.append(f"weight {hop.weight}")
    return " ".join(parts)


def route_text(route: Route, devices: Optional[names.Devices] = None) -> str:
    """The route in ``ip route`` words; the grammar parses it back."""
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
    if route.table != names.DEFAULT_TABLES["main"]:
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
