"""Rich mode: tables and colour, for a terminal.  The tables themselves
are built in rich_views.py; here is how they are written: a dump streamed as
rows of text drawn as the table would draw them (a new header only where
wider columns are needed), everything above the progress bar while one is
drawn, errors in colour on stderr."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional

from rich.console import RenderableType
from rich.text import Text

from rtshell.model import Event, LookupResult, Route, Stats
from rtshell.render.base import CHUNK, Output
from rtshell.render.rich_views import (
    CHANGE_STYLE, Row, Sgr, _route_table, _widths, event_line, help_table, lookup_table, route_lines, route_row,
    route_table, stats_table,
)
from rtshell.render.text import change_lines


class RichOutput(Output):
    """Tables and colour, for a terminal; above the progress bar while one is drawn."""

    mode = "rich"
    terminal = True

    def show(self, renderable: RenderableType) -> None:
        with self.lock:
            if self.work is not None:  # above the progress bar
                self.work.print(renderable)
                return
            self.console.print(renderable)
            self.file.flush()

    def interrupted(self) -> None:
        """After Ctrl-C cut a table short: reset colours, end the line."""
        with self.lock:
            self.file.write("\x1b[0m\n")
            self.file.flush()

    def _stderr(self, label: str, style: str, message: str, pointer: Optional[str]) -> None:
        # while a progress bar is drawn, above it (the same terminal)
        show = self.work.print if self.work is not None else self.err_console.print
        if pointer:
            show(Text(pointer, style="dim"))
        show(Text.assemble((f"{label}: ", style), message))

    def _routes(self, routes: Iterable[Route], title: Optional[str]) -> int:
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
        self.show(route_table([route], self.devices))

    def lookup(self, results: list[LookupResult]) -> None:
        self.show(lookup_table(results, self.devices))

    def stats(self, st: Stats) -> None:
        self.show(stats_table(st))

    def event(self, ev: Event, origin: Optional[str] = None) -> None:
        self.show(event_line(ev, self.devices, origin))

    def ack(self, message: str, data: Optional[dict] = None, quiet: bool = False) -> None:
        self.show(Text.assemble(("ok ", "bold green"), (message, "")))

    def info(self, message: str, data: Optional[dict] = None) -> None:
        self.show(Text(message))

    def explain(self, command: str, parts: list[tuple[str, str, bytes]]) -> None:
        if not parts:
            self.info(f"{command}: sends nothing to the kernel")
        for what, decoded, data in parts:
            self.show(Text(f"{what}  ({len(data)} bytes)", style="bold"))
            self.show(Text(decoded.rstrip("\n")))
            self.show(Text(f"hex {data.hex()}", style="cyan"))

    def diff(self, changes: list[dict[str, Any]]) -> None:
        if not changes:
            self.info("no staged changes")
        for c in changes:
            text = Text()
            for line, kind in change_lines(c, self.devices):
                text.append(line + "\n", style=CHANGE_STYLE[kind])
            text.rstrip()
            self.show(text)

    def help(self, rows: list[tuple[str, str]], title: Optional[str] = None, body: str = "") -> None:
        if title:
            self.show(Text(title, style="bold"))
        if body:
            self.show(Text(body))
        if rows:
            self.show(help_table(rows))

    def _count(self, n: int) -> None:
        self.line(f"{n:,}")
