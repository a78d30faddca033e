"""Routes, events and answers as rich tables, plain text or JSON.

Three modes, chosen once per run:

* ``rich``: tables and colour, for a terminal;
* ``plain``: stable text, one route per line in ``ip route`` form (a line of
  ``route show`` pasted after ``route add`` adds that route again), for pipes;
* ``json``: every command prints exactly one JSON document on one line
  (``route show`` one array, ``monitor`` one object per event).

Renderers take snapshots (routes, events, stats: frozen dataclasses) and
build fresh rich objects every time; no Table crosses a thread.  Large dumps
stream: rows are rendered in chunks as the dump iterator yields them, with
column widths fixed by the first chunk, so the first screen appears at once
and a million routes never sit in memory as text.

Background output (notifications, trace) is rendered to an ANSI string by
:func:`to_ansi`; the REPL prints that above the prompt.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from rich import box
from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from rtshell import names
from rtshell.words import dev_name as _dev, filter_text, nexthop_text, prefix_text, route_text  # noqa: F401  (render's API too)
from rtshell.model import Event, Filter, LookupResult, Match, Route, RouteType, Stats

if TYPE_CHECKING:
    from rtshell.commands.pipe import Pipe, PipeRun

CHUNK = 256  # rows per streamed table chunk
FLUSH_EVERY = 0.1  # s: the longest a streamed row waits for its chunk

COLUMNS = ("Destination", "Gateway", "Dev", "Metric", "Table", "Type", "Proto")
METRIC_COLUMN = COLUMNS.index("Metric")  # the one right-justified

TYPE_STYLE = {
    RouteType.UNICAST: "",
    RouteType.BLACKHOLE: "bold black on white",
    RouteType.UNREACHABLE: "magenta",
    RouteType.PROHIBIT: "red",
}


# -- text forms --------------------------------------------------------------


def route_json(route: Route, devices=None) -> dict[str, Any]:
    obj = {
        "dst": str(route.dst),
        "family": route.family,
        "gateway": str(route.gateway) if route.gateway is not None else None,
        "dev": _dev(devices, route.oif),
        "metric": route.metric,
        "table": names.table_name(route.table),
        "table_id": route.table,
        "type": names.type_name(route.type),
        "protocol": names.proto_name(route.proto),
        "nexthops": [
            {"gateway": str(h.gateway) if h.gateway is not None else None,
             "dev": _dev(devices, h.oif), "weight": h.weight}
            for h in route.nexthops
        ],
    }
    if route.created is not None:
        obj["created"] = route.created
    if route.changed is not None:
        obj["changed"] = route.changed
    return obj


def filter_json(flt: Optional[Filter], devices=None) -> Optional[dict[str, Any]]:
    if flt is None:
        return None
    return {
        "family": flt.family,
        "table": names.table_name(flt.table) if flt.table is not None else None,
        "type": names.type_name(flt.type) if flt.type is not None else None,
        "protocol": names.proto_name(flt.proto) if flt.proto is not None else None,
        "dev": _dev(devices, flt.oif),
        "gateway": str(flt.gateway) if flt.gateway is not None else None,
        "metric": flt.metric,
        "prefix": str(flt.prefix) if flt.prefix is not None else None,
        "match": Match(flt.match).name.lower(),
    }


def stats_json(st: Stats) -> dict[str, Any]:
    return {
        "routes4": st.routes4, "routes6": st.routes6,
        "tables": [{"table": names.table_name(t.table), "table_id": t.table,
                    "family": t.family, "routes": t.routes} for t in st.tables],
        "memory": st.memory, "generation": st.generation, "requests": st.requests,
        "errors": st.errors, "misses": st.misses, "max_routes": st.max_routes,
    }


def lookup_json(res: LookupResult, devices=None) -> dict[str, Any]:
    return {"addr": str(res.addr), "route": route_json(res.route, devices) if res.route else None}


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


def iso_time(stamp: Optional[float]) -> str:
    """Seconds since the epoch (now if None) as ISO 8601 in local time, to the microsecond."""
    return datetime.datetime.fromtimestamp(time.time() if stamp is None else stamp).astimezone() \
        .isoformat(timespec="microseconds")


def event_json(ev: Event, devices=None, origin: Optional[str] = None) -> dict[str, Any]:
    if ev.kind == "resync":
        return {"event": "resync", "time": iso_time(ev.time),
                **{n: [route_json(r, devices) for r in getattr(ev, n, ())]
                   for n in ("added", "removed", "changed")}}
    return {
        "event": ev.kind,
        "time": iso_time(ev.time),
        "route": route_json(ev.route, devices) if ev.route is not None else None,
        "filter": filter_json(ev.filter, devices),
        "count": ev.count,
        "pid": ev.pid,
        "seq": ev.seq,
        "origin": origin,
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


class Held:
    """While a pager has the screen, what would be written to the terminal
    otherwise (errors, warnings, notifications): kept in order, handed back
    by :meth:`stop` to be written then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: Optional[list[tuple[Callable[..., None], tuple[Any, ...]]]] = None

    def start(self) -> None:
        with self._lock:
            self._items = []

    def keep(self, fn: Callable[..., None], args: tuple[Any, ...]) -> bool:
        with self._lock:
            if self._items is None:
                return False
            self._items.append((fn, args))
            return True

    def stop(self) -> list[tuple[Callable[..., None], tuple[Any, ...]]]:
        with self._lock:
            items, self._items = self._items or [], None
            return items


class PipeFile:
    """A text file that passes on only the lines a pipe keeps (matched on
    their text without colour); a line is judged when it is whole."""

    def __init__(self, inner, run: "PipeRun"):
        self.inner = inner
        self.run = run
        self._part = ""  # the line begun, not yet ended
        self._through = False

    @property
    def encoding(self) -> str:
        return getattr(self.inner, "encoding", None) or "utf-8"

    errors = "replace"
    closed = False

    def write(self, text: str) -> int:
        if self._through:
            return self.inner.write(text)
        lines = (self._part + text).split("\n")
        self._part = lines.pop()
        kept = [line + "\n" for line in lines if self.run.keep(line)]
        if kept:
            self.inner.write("".join(kept))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def end(self) -> None:
        """The command is over: its last line, if it did not end one."""
        part, self._part = self._part, ""
        if part and self.run.keep(part):
            self.inner.write(part + "\n")
        self.inner.flush()

    @contextlib.contextmanager
    def unfiltered(self):
        """Writes pass whole (routes, matched one by one before they are drawn)."""
        self._through = True
        try:
            yield
        finally:
            self._through = False

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        isatty = getattr(self.inner, "isatty", None)
        return bool(isatty and isatty())

    def writable(self) -> bool:
        return True


def to_ansi(renderable: RenderableType, width: int = 100, color: bool = True) -> str:
    """Render to a string (for printing above the prompt, from any thread)."""
    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                  highlight=False, soft_wrap=False, emoji=False)
    con.print(renderable)
    return buf.getvalue()


# -- the per-run output ----------------------------------------------------------


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False)


class Output:
    """Where one run's answers go, in one of the three modes.

    Writes are serialised by a lock, so background output (monitor from a
    notification thread, trace) never tears a line of the foreground.
    """

    def __init__(self, mode: str = "plain", file=None, err=None, devices=None,
                 width: Optional[int] = None, color: Optional[bool] = None):
        assert mode in ("rich", "plain", "json")
        self.mode = mode
        self.file = file if file is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.devices = devices
        self.lock = threading.RLock()
        self.work = None  # the rtshell.progress.Work whose bar is drawn, if any
        self.pretty = False  # JSON indented (-p)
        self.timestamps: Optional[str] = None  # events in plain text: 'long' (-t), 'short' (-ts)
        self.held = Held()  # shared by every Output over the same terminal (over())
        self.pipe_run: Optional[PipeRun] = None  # '| include RE' and the like: what is kept
        self._look = (width, color)
        rich = mode == "rich"
        self.console = Console(file=self.file, force_terminal=rich if color is None else color,
                               width=width, highlight=False, soft_wrap=False, emoji=False,
                               color_system="auto" if rich and color is not False else None)
        self.err_console = Console(file=self.err, force_terminal=rich if color is None else color,
                                   width=width, highlight=False, soft_wrap=True, emoji=False,
                                   color_system="auto" if rich and color is not False else None)

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def as_json(self) -> "Output":
        """The same streams in JSON mode (a command with -j)."""
        return self.over(self.file, "json")

    def over(self, file, mode: Optional[str] = None) -> "Output":
        """The same output (mode, settings, lock, held text) into another
        file: the pager's, a pipe's filter."""
        width, color = self._look
        other = Output(mode or self.mode, file=file, err=self.err, devices=self.devices,
                       width=None if mode == "json" else width, color=None if mode == "json" else color)
        other.lock = self.lock
        other.pretty = self.pretty
        other.timestamps = self.timestamps
        other.work = self.work
        other.held = self.held
        other.pipe_run = self.pipe_run
        return other

    def piped(self, pipe: "Pipe") -> "Output":
        """This output through a pipe ('| include RE'); :meth:`end_pipe` says the count."""
        run = pipe.run()
        other = self.over(PipeFile(self.file, run))
        other.pipe_run = run
        return other

    def end_pipe(self) -> None:
        """After a piped command: the rest of its last line, and for count how many."""
        run = self.pipe_run
        if run is None or not isinstance(self.file, PipeFile):
            return
        with self.lock:
            self.file.end()
            self.file = self.file.inner
            self.console.file = self.file
        if run.counting:
            if self.json:
                self.doc({"count": run.count})
            else:
                self.line(f"{run.count:,}" if self.mode == "rich" else str(run.count))

    def _hold(self, fn: Callable[..., None], *args: Any) -> bool:
        """Keep a write to the terminal back while a pager has it."""
        return self.held.keep(fn, args)

    # -- low level --

    def line(self, text: str) -> None:
        with self.lock:
            self.file.write(text + "\n")
            self.file.flush()

    def doc(self, obj: Any) -> None:
        """One JSON document on its own line (indented over several with -p)."""
        self.line(json.dumps(obj, indent=2) if self.pretty else dumps(obj))

    def interrupted(self) -> None:
        """After Ctrl-C cut a table short: reset colours, end the line."""
        if self.mode == "rich":
            with self.lock:
                self.file.write("\x1b[0m\n")
                self.file.flush()

    def show(self, renderable: RenderableType) -> None:
        with self.lock:
            if self.work is not None:  # above the progress bar
                self.work.print(renderable)
                return
            self.console.print(renderable)
            self.file.flush()

    def _drawn(self, ansi: str) -> None:
        """Text with its escape codes already (route_lines, background lines):
        written as it is, above a progress bar if one is drawn."""
        with self.lock:
            if self.work is not None:
                self.work.print(Text.from_ansi(ansi.rstrip("\n")))
                return
            self.file.write(ansi)
            self.file.flush()

    def above(self, ansi: str) -> None:
        """Background text (ANSI) while no prompt runs: above a progress bar
        if one is drawn, else straight to the terminal."""
        if self._hold(self.above, ansi):  # not waiting for the lock a paged command holds
            return
        self._drawn(ansi)

    # -- answers --

    def ack(self, message: str, data: Optional[dict] = None, quiet: bool = False) -> None:
        """A kernel ACK.  Plain text stays silent on a quiet success (like ip)."""
        if self.json:
            self.doc({"ok": True, **(data or {})})
        elif self.mode == "rich":
            self.show(Text.assemble(("ok ", "bold green"), (message, "")))
        elif not quiet:
            self.line(message)

    def info(self, message: str, data: Optional[dict] = None) -> None:
        """A shell message that is not a kernel answer (help, state)."""
        if self.json:
            self.doc({"ok": True, "message": message, **(data or {})})
        elif self.mode == "rich":
            self.show(Text(message))
        else:
            self.line(message)

    def warn(self, message: str) -> None:
        """One line on stderr: something was done, but not all that was written."""
        if self._hold(self.warn, message):
            return
        with self.lock:
            if self.mode == "rich":
                show = self.work.print if self.work is not None else self.err_console.print
                show(Text.assemble(("warning: ", "bold yellow"), message))
            else:
                self.err.write(f"warning: {message}\n")
            self.err.flush()

    def error(self, message: str, data: Optional[dict] = None, pointer: Optional[str] = None) -> None:
        """One line on stderr (a caret line under it for grammar errors);
        in JSON mode also one document on stdout so every command answers."""
        if self._hold(self.error, message, data, pointer):
            return
        with self.lock:
            if self.mode == "rich":
                # while a progress bar is drawn, above it (the same terminal)
                show = self.work.print if self.work is not None else self.err_console.print
                if pointer:
                    show(Text(pointer, style="dim"))
                show(Text.assemble(("error: ", "bold red"), message))
            else:
                if pointer and not self.json:
                    self.err.write(pointer + "\n")
                self.err.write(f"error: {message}\n")
            self.err.flush()
            if self.json:
                self.doc({"ok": False, "error": {"message": message, **(data or {})}})

    def routes(self, routes: Iterable[Route], title: Optional[str] = None) -> int:
        """Stream routes; returns how many were shown."""
        run = self.pipe_run
        if run is not None:  # matched on their ip words, in every mode; the table keeps its header
            routes = (r for r in routes if run.keep(route_text(r, self.devices)))
            if run.counting:
                for _ in routes:
                    pass
                return 0
            with self.file.unfiltered() if isinstance(self.file, PipeFile) else contextlib.nullcontext():
                return self._routes(routes, title)
        return self._routes(routes, title)

    def _routes(self, routes: Iterable[Route], title: Optional[str]) -> int:
        if self.json:
            return self._routes_json(routes)
        if self.mode == "plain":
            return self._routes_plain(routes)
        return self._routes_rich(routes, title)

    def _routes_plain(self, routes: Iterable[Route]) -> int:
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

    def _routes_json(self, routes: Iterable[Route]) -> int:
        n = 0
        # streamed: one array, written as the dump comes (-p: indented as json.dumps(indent=2) would)
        first, sep = ("\n  ", ",\n  ") if self.pretty else ("", ",")
        with self.lock:
            self.file.write("[")
            try:
                for r in routes:
                    obj = route_json(r, self.devices)
                    text = json.dumps(obj, indent=2).replace("\n", "\n  ") if self.pretty else dumps(obj)
                    self.file.write((sep if n else first) + text)
                    n += 1
                    if n % CHUNK == 0:
                        self.file.flush()
            finally:
                self.file.write("\n]\n" if n and self.pretty else "]\n")
                self.file.flush()
        return n

    def _routes_rich(self, routes: Iterable[Route], title: Optional[str]) -> int:
        n = 0
        widths: Optional[list[int]] = None
        chunk: list[Row] = []
        it: Iterator[Route] = iter(routes)
        sgr = Sgr(self.console)

        def flush(first: bool) -> None:
            # widths come from the first chunk; a later chunk that needs
            # wider columns (IPv6 after IPv4) starts a new section, with its header
            nonlocal widths
            need = _widths(chunk)
            header = first
            if widths is None:
                widths = need
            elif any(n > w for n, w in zip(need, widths)):
                widths = [max(n, w) for n, w in zip(need, widths)]
                header = True
            lines = None if header else route_lines(chunk, widths, self.console.width, sgr)
            if lines is not None:
                self._drawn(lines)
            else:
                table = _route_table(widths, header, title if first else None)
                for row in chunk:
                    table.add_row(*(Text(text, style=style) for text, style in row))
                self.show(table)
            chunk.clear()

        first = True
        for r in it:
            chunk.append(route_row(r, self.devices))
            n += 1
            # the first screen early, then bigger chunks
            if len(chunk) >= (40 if first else CHUNK):
                flush(first)
                first = False
        if chunk or first:
            if first and not chunk:
                self.show(Text("no routes", style="dim"))
                return 0
            flush(first)
        self.show(Text(f"{n:,} route{'s' if n != 1 else ''}", style="dim"))
        return n

    def route(self, route: Route) -> None:
        if self.json:
            self.doc(route_json(route, self.devices))
        elif self.mode == "plain":
            self.line(route_text(route, self.devices))
        else:
            self.show(route_table([route], self.devices))

    def lookup(self, results: list[LookupResult]) -> None:
        if self.json:
            self.doc([lookup_json(r, self.devices) for r in results])
        elif self.mode == "plain":
            for r in results:
                self.line(f"{r.addr} " + (route_text(r.route, self.devices) if r.route else "unreachable"))
        else:
            self.show(lookup_table(results, self.devices))

    def stats(self, st: Stats) -> None:
        if self.json:
            self.doc(stats_json(st))
        elif self.mode == "plain":
            self.line(f"routes4 {st.routes4}")
            self.line(f"routes6 {st.routes6}")
            for ts in st.tables:
                self.line(f"table {names.table_name(ts.table)} family {ts.family} routes {ts.routes}")
            for key in ("memory", "generation", "requests", "errors", "misses", "max_routes"):
                self.line(f"{key} {getattr(st, key)}")
        else:
            self.show(stats_table(st))

    def event(self, ev: Event, origin: Optional[str] = None) -> None:
        if self.json:
            self.doc(event_json(ev, self.devices, origin))
        elif self.mode == "plain":
            self.line(stamp_plain(ev, self.timestamps) + event_plain(ev, self.devices, origin))
        else:
            self.show(event_line(ev, self.devices, origin))

    def explain(self, command: str, parts: list[tuple[str, str, bytes]]) -> None:
        """parts: (what, decoded text, bytes) per request."""
        if self.json:
            self.doc({"command": command, "sends": bool(parts),
                      "requests": [{"request": w, "decoded": d, "hex": b.hex(), "length": len(b)}
                                   for w, d, b in parts]})
            return
        if not parts:
            self.info(f"{command}: sends nothing to the kernel")
            return
        for what, decoded, data in parts:
            if self.mode == "rich":
                self.show(Text(f"{what}  ({len(data)} bytes)", style="bold"))
                self.show(Text(decoded.rstrip("\n")))
                self.show(Text(f"hex {data.hex()}", style="cyan"))
            else:
                self.line(f"{what}  ({len(data)} bytes)")
                self.line(decoded.rstrip("\n"))
                self.line(f"hex {data.hex()}")

    def diff(self, changes: list[dict[str, Any]]) -> None:
        """changes: {'op', 'line', 'before': Route|None, 'after': Route|None, 'note'}"""
        if self.json:
            self.doc({"changes": [{
                "op": c["op"], "command": c["line"], "note": c.get("note"),
                "before": route_json(c["before"], self.devices) if c["before"] else None,
                "after": route_json(c["after"], self.devices) if c["after"] else None,
            } for c in changes]})
            return
        if not changes:
            self.info("no staged changes")
            return
        for c in changes:
            text = Text()
            if c["before"] is not None and c["after"] != c["before"]:
                text.append("- " + route_text(c["before"], self.devices) + "\n", style="red")
            if c["after"] is not None and c["after"] != c["before"]:
                text.append("+ " + route_text(c["after"], self.devices) + "\n", style="green")
            if c["after"] == c["before"] and c["after"] is not None:
                text.append("= " + route_text(c["after"], self.devices) + "\n", style="dim")
            if c.get("note"):
                text.append(f"! {c['line']}: {c['note']}\n", style="bold yellow")
            text.rstrip()
            if self.mode == "rich":
                self.show(text)
            else:
                for line in text.plain.rstrip("\n").split("\n"):
                    self.line(line)

    def help(self, rows: list[tuple[str, str]], title: Optional[str] = None, body: str = "") -> None:
        if self.json:
            self.doc({"help": title, "text": body, "items": [{"name": a, "help": b} for a, b in rows]})
            return
        if self.mode == "rich":
            if title:
                self.show(Text(title, style="bold"))
            if body:
                self.show(Text(body))
            if rows:
                table = Table(box=None, show_header=False, pad_edge=False)
                table.add_column(style="bold cyan", no_wrap=True)
                table.add_column()
                for a, b in rows:
                    table.add_row(a, b)
                self.show(table)
            return
        if title:
            self.line(title)
        if body:
            self.line(body)
        width = max((len(a) for a, _ in rows), default=0)
        for a, b in rows:
            self.line(f"  {a.ljust(width)}  {b}")


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
