"""Plain mode: stable text for pipes, one route per line in ``ip route``
form (a line of ``route show`` pasted after ``route add`` adds that route
again); events as ``ip monitor`` prints them."""

from __future__ import annotations

import contextlib
import datetime
import time
from typing import Any, Iterable, Optional

from rtshell import names
from rtshell.model import Event, LookupResult, Route, Stats
from rtshell.render.base import CHUNK, Output
from rtshell.render.text import change_lines, filter_text, resync_details, resync_summary
from rtshell.words import route_text

FLUSH_EVERY = 0.1  # s: the longest a streamed row waits for its chunk


def stamp_plain(ev: Event, style: Optional[str]) -> str:
    """What goes before an event's plain line, as ``ip monitor`` has it:
    'long' (-t) a line 'Timestamp: Wed Dec  2 16:55:01 2026 123456 usec',
    'short' (-ts) '[2026-12-02T16:55:01.123456]'; None nothing."""
    if style is None:
        return ""
    when = time.time() if ev.time is None else ev.time
    if style == "short":
        return f"[{datetime.datetime.fromtimestamp(when).isoformat(timespec='microseconds')}] "
    return f"Timestamp: {time.strftime('%a %b %e %H:%M:%S %Y', time.localtime(when))} " \
           f"{int(when * 1e6) % 1000000} usec\n"


def event_plain(ev: Event, devices=None, origin: Optional[str] = None) -> str:
    if ev.kind == "new":
        body = "new " + route_text(ev.route, devices)
    elif ev.kind == "del":
        body = "del " + route_text(ev.route, devices)
    elif ev.kind == "flush":
        body = f"flush {ev.count} {filter_text(ev.filter, devices) or 'all'}"
    elif ev.kind == "resync":
        return "\n".join([resync_summary(ev)] + ["  " + x for x in resync_details(ev, devices, limit=None)])
    elif ev.kind == "overrun":
        return "overrun notifications lost"
    else:
        body = ev.kind
    return f"{body} by {origin}" if origin else body


class PlainOutput(Output):
    """Plain text: ip's words, a line at a time, no colour."""

    mode = "plain"
    quiet_acks_silent = True

    def _routes(self, routes: Iterable[Route], title: Optional[str]) -> int:
        """ip's lines, written a chunk at a time rather than a system call per
        route, and at least every FLUSH_EVERY seconds, so a slow dump still
        shows as it comes."""
        n = 0
        lines: list[str] = []
        due = time.monotonic() + FLUSH_EVERY
        try:
            for r in routes:
                lines.append(route_text(r, self.devices))
                n += 1
                if len(lines) >= CHUNK or time.monotonic() >= due:
                    self._lines(lines)
                    due = time.monotonic() + FLUSH_EVERY
        except BaseException:  # Ctrl-C, a pager left: what came is still shown, if it can be
            with contextlib.suppress(Exception):
                self._lines(lines)
            raise
        self._lines(lines)
        return n

    def _lines(self, lines: list[str]) -> None:
        """Write lines (if any) and empty the list."""
        if not lines:
            return
        lines.append("")
        with self.lock:
            self.file.write("\n".join(lines))
            self.file.flush()
        lines.clear()

    def route(self, route: Route) -> None:
        self.line(route_text(route, self.devices))

    def lookup(self, results: list[LookupResult]) -> None:
        for r in results:
            self.line(f"{r.addr} " + (route_text(r.route, self.devices) if r.route else "unreachable"))

    def stats(self, st: Stats) -> None:
        self.line(f"routes4 {st.routes4}")
        self.line(f"routes6 {st.routes6}")
        for ts in st.tables:
            self.line(f"table {names.table_name(ts.table)} family {ts.family} routes {ts.routes}")
        for key in ("memory", "generation", "requests", "errors", "misses", "max_routes"):
            self.line(f"{key} {getattr(st, key)}")

    def event(self, ev: Event, origin: Optional[str] = None) -> None:
        self.line(stamp_plain(ev, self.timestamps) + event_plain(ev, self.devices, origin))

    def ack(self, message: str, data: Optional[dict] = None, quiet: bool = False) -> None:
        if not quiet:
            self.line(message)

    def info(self, message: str, data: Optional[dict] = None) -> None:
        self.line(message)

    def explain(self, command: str, parts: list[tuple[str, str, bytes]]) -> None:
        if not parts:
            self.info(f"{command}: sends nothing to the kernel")
        for what, decoded, data in parts:
            self.line(f"{what}  ({len(data)} bytes)")
            self.line(decoded.rstrip("\n"))
            self.line(f"hex {data.hex()}")

    def diff(self, changes: list[dict[str, Any]]) -> None:
        if not changes:
            self.info("no staged changes")
        for c in changes:
            for line in "".join(text + "\n" for text, _ in change_lines(c, self.devices)).rstrip().split("\n"):
                self.line(line)

    def help(self, rows: list[tuple[str, str]], title: Optional[str] = None, body: str = "") -> None:
        if title:
            self.line(title)
        if body:
            self.line(body)
        width = max((len(a) for a, _ in rows), default=0)
        for a, b in rows:
            self.line(f"  {a.ljust(width)}  {b}")

    def _count(self, n: int) -> None:
        self.line(str(n))
