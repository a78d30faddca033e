"""Rich mode's renderables: route tables (whole, or streamed as rows of
text drawn as the table would draw them), the lookup and stats tables, one
notification as a coloured line, the watch screen, and any of them as an
ANSI string for printing above the prompt.

Renderers take snapshots (routes, events, stats: frozen dataclasses) and
build fresh rich objects every time; no Table crosses a thread.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any, Iterable, Optional

from rich import box
from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from rtshell import names
from rtshell.model import Event, LookupResult, Route, RouteType, Stats
from rtshell.render.text import filter_text, resync_details, resync_summary
from rtshell.words import dev_name as _dev, nexthop_text, prefix_text, route_text

COLUMNS = ("Destination", "Gateway", "Dev", "Metric", "Table", "Type", "Proto")
METRIC_COLUMN = COLUMNS.index("Metric")  # the one right-justified

TYPE_STYLE = {
    RouteType.UNICAST: "",
    RouteType.BLACKHOLE: "bold black on white",
    RouteType.UNREACHABLE: "magenta",
    RouteType.PROHIBIT: "red",
}


def event_line(ev: Event, devices=None, origin: Optional[str] = None, stamp: Optional[float] = None) -> Text:
    """One notification as one coloured line."""
    when = time.strftime("%H:%M:%S", time.localtime(stamp if stamp is not None else time.time()))
    text = Text(f"[{when}] ", style="dim")
    if ev.kind == "new":
        text.append("+ ", style="bold green")
        text.append(route_text(ev.route, devices), style="green")
    elif ev.kind == "del":
        text.append("- ", style="bold red")
        text.append(route_text(ev.route, devices), style="red")
    elif ev.kind == "flush":
        what = filter_text(ev.filter, devices) or "all"
        text.append(f"flush {ev.count:,} route{'s' if ev.count != 1 else ''} ({what})", style="bold yellow")
    elif ev.kind == "resync":
        text.append(resync_summary(ev), style="bold yellow")
        for line in resync_details(ev, devices):
            text.append("\n    " + line, style="yellow")
    elif ev.kind == "overrun":
        text.append("notifications overran: some changes were lost (route show to see the table)",
                    style="bold yellow")
    else:
        text.append(f"{ev.kind}", style="bold yellow")
    if origin and ev.kind in ("new", "del", "flush"):
        text.append(f"  by {origin}", style="cyan")
    return text


# -- tables --------------------------------------------------------------------


Row = list[tuple[str, str]]  # a route table's row: (text, rich style) per column


def route_row(route: Route, devices=None) -> Row:
    """A route's cells in a table, as text and style (a multipath route's
    gateway cell has a line per next hop)."""
    style = TYPE_STYLE.get(route.type, "")
    if route.nexthops:
        gw = "\n".join(nexthop_text(h, devices) for h in route.nexthops)
        dev = ""
    else:
        gw = str(route.gateway) if route.gateway is not None else ""
        dev = _dev(devices, route.oif) or ""
    return [
        (prefix_text(route.dst), "bold " + style if style else "bold"),
        (gw, ""), (dev, ""),
        (str(route.metric), ""),
        (names.table_name(route.table), ""),
        (names.type_name(route.type), style),
        (names.proto_name(route.proto), ""),
    ]


def route_cells(route: Route, devices=None) -> list[Text]:
    return [Text(text, style=style) for text, style in route_row(route, devices)]


def _route_table(widths: Optional[list[int]], header: bool, title: Optional[str] = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_header=header, show_edge=False, pad_edge=False,
                  title=title if header else None, title_justify="left", expand=False)
    for i, name in enumerate(COLUMNS):
        kw: dict[str, Any] = {"no_wrap": True, "overflow": "fold"}
        if i == METRIC_COLUMN:
            kw["justify"] = "right"
        if widths is not None:
            kw["min_width"] = kw["max_width"] = widths[i]
        table.add_column(name, header_style="bold cyan", **kw)
    return table


def route_table(routes: Iterable[Route], devices=None, title: Optional[str] = None) -> Table:
    """A whole table (for small, already known sets of routes)."""
    table = _route_table(None, True, title)
    for r in routes:
        table.add_row(*route_cells(r, devices))
    return table


COLUMN_GAP = 3  # between two columns of a route table (SIMPLE_HEAD, no edge)


class Sgr:
    """The escape codes a console writes around text of a style: rich's own
    (Style.render), asked once per style."""

    def __init__(self, console: Console):
        self._system = COLOR_SYSTEMS.get(console.color_system or "")
        self._no_color = console.no_color
        self._codes: dict[str, tuple[str, str]] = {}

    def __call__(self, style: str) -> tuple[str, str]:
        codes = self._codes.get(style)
        if codes is None:
            codes = ("", "")
            if style and self._system is not None:
                parsed = Style.parse(style)
                if self._no_color:
                    parsed = parsed.without_color
                before, _, after = parsed.render("\0", color_system=self._system).partition("\0")
                codes = (before, after)
            self._codes[style] = codes
        return codes


def route_lines(rows: list[Row], widths: list[int], width: int, sgr: Sgr) -> Optional[str]:
    """Rows of a route table after its header, as the table would draw them
    (the same bytes, colours too), without rich's layout pass: strings
    joined, which a streamed dump of a million routes needs.  None when only
    the table can draw them (a cell of several lines, or rows wider than the
    screen, which it folds)."""
    if sum(widths) + COLUMN_GAP * (len(widths) - 1) > width:
        return None
    gap = " " * COLUMN_GAP
    lines = []
    for row in rows:
        cells = []
        for i, (text, style) in enumerate(row):
            if "\n" in text:
                return None
            pad = " " * (widths[i] - len(text))
            cell = pad + text if i == METRIC_COLUMN else text + pad
            if style:
                before, after = sgr(style)
                cell = before + cell + after
            cells.append(cell)
        lines.append(gap.join(cells))
    lines.append("")
    return "\n".join(lines)


# column floors: an IPv4 prefix, an IPv4 address, a device name, ...
FLOORS = (18, 15, 6, 6, 5, 7, 5)


def _widths(rows: list[Row]) -> list[int]:
    widths = [max(len(c), f) for c, f in zip(COLUMNS, FLOORS)]
    for row in rows:
        for i, (text, _) in enumerate(row):
            n = len(text)
            if n > widths[i]:
                if "\n" in text:
                    n = max(len(line) for line in text.split("\n"))
                widths[i] = max(widths[i], n)
    return widths


def stats_table(st: Stats) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title="rtmgr", title_justify="left")
    table.add_column("counter", style="cyan")
    table.add_column("value", justify="right")
    for key, val in (("IPv4 routes", st.routes4), ("IPv6 routes", st.routes6),
                     ("max routes", st.max_routes), ("memory (bytes)", st.memory),
                     ("generation", st.generation), ("requests", st.requests),
                     ("errors (refused)", st.errors), ("misses (read, no route)", st.misses)):
        table.add_row(key, f"{val:,}")
    for ts in st.tables:
        table.add_row(f"table {names.table_name(ts.table)} IPv{ts.family}", f"{ts.routes:,}")
    return table


def lookup_table(results: Iterable[LookupResult], devices=None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for name in ("Address",) + COLUMNS:
        table.add_column(name, header_style="bold cyan", no_wrap=True)
    for res in results:
        if res.route is None:
            table.add_row(Text(str(res.addr), style="bold"), Text("no route", style="red"),
                          *[Text("")] * (len(COLUMNS) - 1))
        else:
            table.add_row(Text(str(res.addr), style="bold"), *route_cells(res.route, devices))
    return table


def help_table(rows: Iterable[tuple[str, str]]) -> Table:
    """(name, what it does) rows, the names in colour."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for a, b in rows:
        table.add_row(a, b)
    return table


# a staged change's lines (text.change_lines) by what they say
CHANGE_STYLE = {"removed": "red", "added": "green", "same": "dim", "note": "bold yellow"}


def to_ansi(renderable: RenderableType, width: int = 100, color: bool = True) -> str:
    """Render to a string (for printing above the prompt, from any thread)."""
    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                  highlight=False, soft_wrap=False, emoji=False)
    con.print(renderable)
    return buf.getvalue()


def terminal_width(default: int = 100) -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return default


def watch_view(routes: list[Route], win, events: list, title: str, rate: float,
               typing: Optional[str] = None, message: Optional[str] = None, devices=None) -> RenderableType:
    """The watch screen: a header with the position, a status line, the
    notice, the routes that fit, the latest changes.

    win: the rtshell.commands.watch.Window the routes were read from (offset,
    count, total, pattern, searched, notice); typing: the filter being typed
    after '/', message: one line about it; events: [(time, Event, origin
    text)], oldest first.
    """
    from rich.console import Group

    head = Text.assemble((title, "bold"), "  ", (watch_position(win, len(routes)), "cyan"), "  ",
                         (f"{rate:.1f} events/s", "cyan"), "  ", (time.strftime("%H:%M:%S"), "dim"))
    if typing is not None:
        status = Text.assemble(("filter: /" + typing, "bold"), (" ", "reverse"), "  ",
                               (message, "bold red") if message else ("Enter applies, Esc clears", "dim"))
    else:
        status = Text("Up/Down PgUp/PgDn Home/End: scroll   /: filter" + ("   Esc: no filter" if win.pattern else "")
                      + "   q: leave", style="dim")
    parts: list[RenderableType] = [head, status, Text(win.notice or "", style="bold yellow"),
                                   route_table(routes, devices)]
    for when, ev, origin in events:
        parts.append(event_line(ev, devices, origin, stamp=when))
    return Group(*parts)


def watch_position(win, shown: int) -> str:
    """'rows 1,001-1,030 of 1,000,000', and what the text filter has found."""
    if win.count == 0:
        text = "no routes" if win.pattern is None else f"no routes match /{win.pattern}/"
    else:
        text = f"rows {win.offset + 1:,}-{win.offset + shown:,} of {win.count:,}"
        if win.pattern is not None:
            text += f" matching /{win.pattern}/ (of {win.total:,})"
    if win.searched is not None:
        text += f", {win.searched:.0%} searched"
    return text
