"""A kernel request as a command means it: one client call, one message.

A parsed command that talks to the kernel yields :class:`Request` objects.
The executor calls them on the client (or on a batch); ``explain`` asks the
client's own plan for that call to build its first request, so what
``explain`` shows is what the command sends.
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
        """The netlink message the client sends (first) for this request,
        built by the client's own plan for it (rtshell.client.plans)."""
        from rtshell.client import plans

        if self.method not in plans.PLANS and self.method != "dump":
            raise ValueError(f"no netlink message for {self.method}")
        _op, build, _multi = plans.first_request(self.method, *self.args, **dict(self.kwargs))
        return build(seq)

    def decode(self, seq: int = 1) -> tuple[str, bytes]:
        from rtshell import netlink

        data = self.encode(seq)
        return netlink.decode(data), data
