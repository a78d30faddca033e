"""The words every output mode shares: a filter in the grammar's words, who
caused a notification, what a resync found.  Plain text, no rich."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from rtshell import names
from rtshell.model import Filter, Match
from rtshell.words import dev_name as _dev, route_text


def filter_text(flt: Optional[Filter], devices=None) -> str:
    """A filter in the grammar's words ('' for everything)."""
    if flt is None:
        return ""
    parts = []
    if flt.prefix is not None:
        parts.append(f"{Match(flt.match).name.lower()} {flt.prefix}")
    if flt.oif is not None:
        parts.append(f"dev {_dev(devices, flt.oif)}")
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


# -- who caused a notification -------------------------------------------------


def process_name(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip() or None
    except OSError:
        return None


def origin_text(pid: int, own_ports: Iterable[int] = ()) -> str:
    """'kernel', 'this shell', or 'pid 1234 (rtshell)'.

    The port id of a netlink socket is usually the pid of the process that
    opened it; when /proc has no such process, the bare port id is shown.
    """
    if pid == 0:
        return "kernel"
    if pid in set(own_ports):
        return "this shell"
    comm = process_name(pid) if pid > 0 else None
    return f"pid {pid} ({comm})" if comm else f"port {pid}"


def resync_summary(ev) -> str:
    added, removed, changed = (getattr(ev, n, ()) for n in ("added", "removed", "changed"))
    return (f"notifications overran; resynced by dump: {len(added)} added, "
            f"{len(removed)} removed, {len(changed)} changed during the gap")


def resync_details(ev, devices=None, limit: Optional[int] = 5) -> list[str]:
    lines = []
    for sign, name in (("+", "added"), ("-", "removed"), ("~", "changed")):
        routes = getattr(ev, name, ())
        shown = routes if limit is None else routes[:limit]
        lines += [f"{sign} {route_text(r, devices)}" for r in shown]
        if limit is not None and len(routes) > limit:
            lines.append(f"{sign} ... {len(routes) - limit} more")
    return lines


def change_lines(change: dict[str, Any], devices=None) -> list[tuple[str, str]]:
    """A staged change (diff) as lines, each with what it says: 'removed'
    (the route before), 'added' (after), 'same' (unchanged), 'note'."""
    before, after = change["before"], change["after"]
    lines = []
    if before is not None and after != before:
        lines.append(("- " + route_text(before, devices), "removed"))
    if after is not None and after != before:
        lines.append(("+ " + route_text(after, devices), "added"))
    if after == before and after is not None:
        lines.append(("= " + route_text(after, devices), "same"))
    if change.get("note"):
        lines.append((f"! {change['line']}: {change['note']}", "note"))
    return lines
