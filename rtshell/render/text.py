"""The words every output mode shares: who caused a notification, what a
resync found (routes and filters in words come from rtshell.words).  Plain
text, no rich."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from rtshell.words import filter_text, route_text  # noqa: F401  (filter_text: render's API)


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
    added, removed, changed = ev.added, ev.removed, ev.changed
    return (f"notifications overran; resynced by dump: {len(added)} added, "
            f"{len(removed)} removed, {len(changed)} changed during the gap")


def resync_details(ev, devices=None, limit: Optional[int] = 5) -> list[str]:
    lines = []
    for sign, name in (("+", "added"), ("-", "removed"), ("~", "changed")):
        routes = getattr(ev, name)
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
