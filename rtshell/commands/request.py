"""A kernel request as a command means it: one client call, one message.

A parsed command that talks to the kernel yields :class:`Request` objects.
The executor calls them on the client (or on a batch); ``explain`` asks the
netlink layer to build the very same request, so what ``explain`` shows is
what the command sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MUTATING = frozenset({"add", "replace", "change", "append", "delete", "flush"})
ROUTE_METHODS = ("add", "replace", "change", "append", "delete")
PAST = {"add": "added", "replace": "replaced", "change": "changed", "append": "appended",
        "delete": "deleted"}  # for summaries: 'added 50,000 routes'


@dataclass(frozen=True)
class Request:
    method: str  # a Client method: add, replace, ..., dump, flush, stats
    args: tuple = ()
    text: str = ""  # what was asked, in the grammar's words
    kwargs: tuple = field(default=())  # ((name, value), ...)

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING

    def call(self, target) -> Any:
        """Run on a Client, or queue on a batch (which has the same methods)."""
        return getattr(target, self.method)(*self.args, **dict(self.kwargs))

    def encode(self, seq: int = 1) -> bytes:
        """The netlink message the client sends for this request."""
        from rtshell import netlink, protocol as P

        m = self.method
        if m in ROUTE_METHODS:
            (route,) = self.args
            if m == "delete":
                msg_type = P.RTMGR_MSG_DELROUTE
                flags = getattr(netlink, "DELETE_FLAGS", P.NLM_F_REQUEST | P.NLM_F_ACK)
            else:
                msg_type = P.RTMGR_MSG_NEWROUTE
                flags = getattr(netlink, f"{m.upper()}_FLAGS")
            return netlink.build_route(msg_type, flags, seq, route)
        if m == "get":
            dst, table, metric = self.args
            return netlink.build_get(seq, dst, table, metric=metric)
        if m == "lookup":
            addr, table = self.args
            return netlink.build_lookup(seq, addr, table)
        if m == "lookup_many":
            addrs, table = self.args
            return netlink.build_lookup_many(seq, list(addrs), table)
        if m == "dump":
            (flt,) = self.args or (None,)
            return netlink.build_dump(seq, flt)
        if m == "flush":
            (flt,) = self.args
            return netlink.build_flush(seq, flt, ack=True)
        if m == "stats":
            return netlink.build_stats(seq)
        raise ValueError(f"no netlink message for {m}")

    def decode(self, seq: int = 1) -> tuple[str, bytes]:
        from rtshell import netlink

        data = self.encode(seq)
        return netlink.decode(data), data
