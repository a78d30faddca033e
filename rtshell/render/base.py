"""What every output mode shares: the Output of one run (its lock, the text
held while a pager has the screen, pipes, the progress bar it writes above)."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from rtshell import names
from rtshell.model import Event, LookupResult, Route, Stats
from rtshell.render.json_mode import dumps, event_json, lookup_json, route_json, stats_json
from rtshell.render.plain_mode import event_plain, stamp_plain
from rtshell.render.rich_views import (Row, Sgr, _route_table, _widths, event_line, lookup_table, route_lines,
                                       route_row, route_table, stats_table)
from rtshell.words import route_text

if TYPE_CHECKING:
    from rtshell.commands.pipe import Pipe, PipeRun

CHUNK = 256  # rows per streamed table chunk
FLUSH_EVERY = 0.1  # s: the longest a streamed row waits for its chunk


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
