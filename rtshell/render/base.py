"""The interface every output mode answers to, and what the modes share.

:class:`Output` is one run's output: where its answers go (a file, and
stderr), the lock that keeps background lines from tearing foreground ones,
the text held back while a pager has the screen (:class:`Held`), the pipe
('| include RE') its lines pass through (:class:`PipeFile`), the progress
bar they are written above, and the lines on stderr.  How an answer looks
is each mode's own: ``rich_mode.RichOutput``, ``plain_mode.PlainOutput``,
``json_mode.JsonOutput``.
"""

from __future__ import annotations

import abc
import contextlib
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Optional

from rich.console import Console
from rich.text import Text

from rtshell.model import Event, LookupResult, Route, Stats
from rtshell.words import route_text

if TYPE_CHECKING:
    from rtshell.commands.pipe import Pipe, PipeRun

CHUNK = 256  # rows per streamed table chunk


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


MODES: dict[str, type["Output"]] = {}  # mode name -> its class, as each is defined


class Output(abc.ABC):
    """Where one run's answers go, in one of the modes.

    ``Output(mode, file=..., err=..., ...)`` makes the output of that mode
    ("rich", "plain" or "json"; plain if none is named), as
    ``pathlib.Path(...)`` makes a PosixPath: an instance of the mode's own
    class (RichOutput, PlainOutput, JsonOutput), which may also be called
    itself.  Each answers the methods marked abstract here in its own way;
    what they share is here.

    Writes are serialised by a lock, so background output (monitor from a
    notification thread, trace) never tears a line of the foreground.
    """

    mode: ClassVar[str]  # the mode's name, as -j and the shell know it
    json: ClassVar[bool] = False  # every answer is a JSON document
    terminal: ClassVar[bool] = False  # drawn for a terminal: the consoles write colour (unless color=False)
    quiet_acks_silent: ClassVar[bool] = False  # ack(..., quiet=True) prints nothing (as ip on success)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "mode" in cls.__dict__:
            MODES[cls.mode] = cls

    def __new__(cls, mode: Optional[str] = None, *args: Any, **kwargs: Any) -> "Output":
        if cls is Output:
            try:
                cls = MODES[mode or "plain"]
            except KeyError:
                raise ValueError(f"no output mode {mode!r}; one of {', '.join(MODES)}") from None
        return super().__new__(cls)

    def __init__(self, mode: Optional[str] = None, file=None, err=None, devices=None,
                 width: Optional[int] = None, color: Optional[bool] = None):
        if mode not in (None, self.mode):
            raise ValueError(f"{type(self).__name__} writes {self.mode}, not {mode}")
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
        force = self.terminal if color is None else color
        system = "auto" if self.terminal and color is not False else None
        self.console = Console(file=self.file, force_terminal=force, width=width, highlight=False,
                               soft_wrap=False, emoji=False, color_system=system)
        self.err_console = Console(file=self.err, force_terminal=force, width=width, highlight=False,
                                   soft_wrap=True, emoji=False, color_system=system)

    def as_json(self) -> "Output":
        """The same streams in JSON mode (a command with -j)."""
        return self._sharing(Output("json", file=self.file, err=self.err, devices=self.devices))

    def over(self, file) -> "Output":
        """The same output (mode, settings, lock, held text) into another
        file: the pager's, a pipe's filter."""
        width, color = self._look
        return self._sharing(type(self)(file=file, err=self.err, devices=self.devices, width=width, color=color))

    def _sharing(self, other: "Output") -> "Output":
        """other, with this output's lock, settings, bar, held text and pipe."""
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
            self._count(run.count)

    def _hold(self, fn: Callable[..., None], *args: Any) -> bool:
        """Keep a write to the terminal back while a pager has it."""
        return self.held.keep(fn, args)

    # -- low level --

    def line(self, text: str) -> None:
        with self.lock:
            self.file.write(text + "\n")
            self.file.flush()

    def interrupted(self) -> None:
        """After Ctrl-C cut an answer short: what the terminal needs (nothing here)."""

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

    # -- stderr: the same in every mode but for how a line looks --

    def warn(self, message: str) -> None:
        """One line on stderr: something was done, but not all that was written."""
        if self._hold(self.warn, message):
            return
        with self.lock:
            self._stderr("warning", "bold yellow", message, None)
            self.err.flush()

    def error(self, message: str, data: Optional[dict] = None, pointer: Optional[str] = None) -> None:
        """One line on stderr (a caret line over it for grammar errors); a
        mode whose every command answers on stdout answers there too."""
        if self._hold(self.error, message, data, pointer):
            return
        with self.lock:
            self._stderr("error", "bold red", message, pointer)
            self.err.flush()
            self._failed(message, data)

    def _stderr(self, label: str, style: str, message: str, pointer: Optional[str]) -> None:
        """'label: message' on stderr, after the caret line if there is one
        (style: rich's, for a mode that draws it)."""
        if pointer:
            self.err.write(pointer + "\n")
        self.err.write(f"{label}: {message}\n")

    def _failed(self, message: str, data: Optional[dict]) -> None:
        """The answer on stdout to a command that failed: none but in JSON."""

    # -- answers --

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

    @abc.abstractmethod
    def _routes(self, routes: Iterable[Route], title: Optional[str]) -> int:
        """Write routes as the dump yields them, a chunk at a time; how many."""

    @abc.abstractmethod
    def route(self, route: Route) -> None:
        """One route (route get)."""

    @abc.abstractmethod
    def lookup(self, results: list[LookupResult]) -> None:
        """Where addresses go (route lookup)."""

    @abc.abstractmethod
    def stats(self, st: Stats) -> None:
        """The module's counters."""

    @abc.abstractmethod
    def event(self, ev: Event, origin: Optional[str] = None) -> None:
        """One notification (monitor); origin: who caused it, in words."""

    @abc.abstractmethod
    def ack(self, message: str, data: Optional[dict] = None, quiet: bool = False) -> None:
        """A kernel ACK.  quiet: a success plain text keeps silent about (like ip)."""

    @abc.abstractmethod
    def info(self, message: str, data: Optional[dict] = None) -> None:
        """A shell message that is not a kernel answer (help, state)."""

    @abc.abstractmethod
    def explain(self, command: str, parts: list[tuple[str, str, bytes]]) -> None:
        """What a command would send: (what, decoded text, bytes) per request."""

    @abc.abstractmethod
    def diff(self, changes: list[dict[str, Any]]) -> None:
        """Staged changes: {'op', 'line', 'before': Route|None, 'after': Route|None, 'note'}"""

    @abc.abstractmethod
    def help(self, rows: list[tuple[str, str]], title: Optional[str] = None, body: str = "") -> None:
        """Help: a title, a paragraph, (name, what it does) rows."""

    @abc.abstractmethod
    def _count(self, n: int) -> None:
        """How many routes or lines '| count' matched."""
