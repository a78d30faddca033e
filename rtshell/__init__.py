"""rtshell: a shell for the rtmgr in-kernel routing table, and its Python library.

    from rtshell import Client, Route, Filter

    with Client() as c:
        c.add(Route.parse("10.1.0.0/16 via 10.99.0.2 dev dummy0"))
        for route in c.dump(Filter(prefix="10.0.0.0/8", match=Match.ROOT)):
            print(route)

The names below are the public API; everything else may change.
"""

from rtshell.client import Client, DumpInterrupted, ResyncEvent, Subscription
from rtshell.errors import (
    InvalidRequest, ModuleNotLoaded, NoRoute, NoSuchDevice, NoSuchRoute,
    NotPermitted, Overrun, ProtocolError, RouteExists, RouteNotFound, RtmgrError, TableFull,
    Timeout, TooBig,
)
from rtshell.model import (
    TABLE_MAIN, Event, Filter, LookupResult, Match, NextHop, Route, RouteType, Stats, TableStats,
)

__version__ = "0.1.0"

__all__ = [
    "Client", "ResyncEvent", "Subscription",
    "RtmgrError", "RouteExists", "RouteNotFound", "NoSuchRoute", "NoRoute", "NotPermitted",
    "InvalidRequest", "NoSuchDevice", "TableFull", "TooBig", "ModuleNotLoaded", "Timeout",
    "Overrun", "ProtocolError", "DumpInterrupted",
    "Route", "NextHop", "Filter", "Match", "RouteType", "Stats", "TableStats", "Event",
    "LookupResult", "TABLE_MAIN",
]
