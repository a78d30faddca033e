"""`watch`: a live full-screen table of the routes, scrolled with the keys.

The notification thread changes a :class:`WatchModel` under a lock; the
foreground loop reads the window the screen shows (the routes at positions
[offset, offset + height) in the kernel's order) a few times a second and
builds a fresh table from it (rich's progress.py habit: no rich object
crosses threads).  The model keeps that order in a
:class:`rtshell.sortedkeys.SortedKeys`, so an event costs O(log N) and a
window read O(height + log N): the lock is held for microseconds, at a
million routes as at ten, and the notification thread never waits on a
redraw.

A text filter (``/`` on the screen) is a regular expression searched in each
route's ``ip`` words.  Applying one to a large table is O(N), so it is done
a chunk at a time between key reads (:meth:`WatchModel.filter_step`); until
it is through, the screen shows the matches found so far, in order.

:class:`WatchScreen` is what the screen shows and what its keys do, with no
terminal: keys come in as prompt_toolkit's key names ('pagedown', 'c-c',
'/', ...).  :func:`run_watch` joins it to the terminal: keys read in raw
mode without blocking the redraw, and rich.live.Live owning the screen
(only here, in the foreground, while the prompt is not running).
"""

from __future__ import annotations

import codecs
import collections
import os
import re
import select
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from rtshell.model import Event, Filter, ResyncEvent, Route, sort_key
from rtshell.sortedkeys import SortedKeys
from rtshell.words import dev_name, route_text

REFRESH = 0.25  # seconds between redraws at most, however fast the events come
KEY_GAP = 0.03  # a key is shown this soon (keys held down are taken together)
IDLE = 1.0  # the clock in the header: a redraw at least this often
RECENT = 6  # the latest changes, under the table
CHROME = 5  # screen lines besides the routes and the changes: header, status, notice, table head (2)
SCAN_CHUNK = 1000  # routes the text filter looks at per hold of the lock (a few ms)
SCAN_SLICE = 0.02  # seconds of filtering per turn of the loop, between key reads
ESC_WAIT = 0.05  # a lone Esc is the Esc key once nothing follows it this long


class Rate:
    """Events per second over a sliding window."""

    def __init__(self, window: float = 5.0, clock=time.monotonic):
        self.window = window
        self.clock = clock
        self._stamps: collections.deque[tuple[float, int]] = collections.deque()
        self._lock = threading.Lock()

    def tick(self, n: int = 1) -> None:
        now = self.clock()
        with self._lock:
            self._stamps.append((now, n))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._stamps and self._stamps[0][0] < now - self.window:
            self._stamps.popleft()

    def rate(self) -> float:
        now = self.clock()
        with self._lock:
            self._trim(now)
            return sum(n for _, n in self._stamps) / self.window


class _Names:
    """Device names for route_text, each index asked once: Devices re-reads
    the system's list for an index it does not know, which a filter over a
    million routes through a device that is gone must not do a million times."""

    def __init__(self, devices):
        self._devices = devices
        self._names: dict[Optional[int], Optional[str]] = {}

    def name(self, index: Optional[int]) -> Optional[str]:
        if index not in self._names:
            self._names[index] = dev_name(self._devices, index)
        return self._names[index]


class TextFilter:
    """The screen's filter: a regular expression searched in a route's ``ip``
    words (rtshell.words.route_text)."""

    def __init__(self, pattern: str, devices=None):
        self.pattern = pattern
        self.regex = re.compile(pattern)  # re.error for one that is not
        self._names = _Names(devices)

    def matches(self, route: Route) -> bool:
        return self.regex.search(route_text(route, self._names)) is not None


@dataclass(frozen=True)
class Window:
    """What one read of the model gives the screen."""

    rows: list[Route]  # the routes at [offset, offset + height), in the kernel's order
    offset: int  # the position of rows[0] (the one asked for, moved back from past the end)
    count: int  # the routes shown: passing the command's filter and the text filter
    total: int  # the routes passing the command's filter
    recent: list  # [(time, Event)], oldest first
    notice: Optional[str]
    version: int
    pattern: Optional[str]  # the text filter
    searched: Optional[float]  # while the text filter is being applied: the share looked at


class WatchModel:
    """The routes passing a filter, kept current by notifications, in the
    kernel's order; and those of them that pass the screen's text filter."""

    def __init__(self, flt: Optional[Filter], devices=None):
        self.filter = flt
        self.devices = devices
        self.lock = threading.Lock()
        self.routes: dict = {}  # sort_key -> Route
        self.order = SortedKeys()  # the keys of self.routes
        self.text: Optional[TextFilter] = None
        self.shown = self.order  # the keys passing the text filter (the same object without one)
        # applying the text filter: every key up to _scanned has been looked at
        self._scanning = False
        self._scanned: Optional[tuple] = None
        self.version = 0
        self.recent: collections.deque[tuple[float, Event]] = collections.deque(maxlen=RECENT)
        self.notice: Optional[str] = None
        self.rate = Rate()
        self.ready = threading.Event()

    def _wants(self, route) -> bool:
        return self.filter is None or self.filter.matches(route)

    # -- the notification thread --

    def on_event(self, ev: Event) -> None:
        """Called on the client's notification thread (subscribed unfiltered,
        so that a route changed out of the filter leaves the view)."""
        if isinstance(ev, ResyncEvent) and ev.initial:
            self._load(ev.added)
            return
        with self.lock:
            change = ev.effect()  # the one reading of an event (rtshell.model)
            for r in change.removed:
                self._drop(sort_key(r))
            if change.flushed is not None:
                self._flush(change.flushed)
            for r in change.put:
                self._put(r)
            if isinstance(ev, ResyncEvent):
                self.notice = (f"{time.strftime('%H:%M:%S')} notifications overran; resynced: "
                               f"+{len(ev.added)} -{len(ev.removed)} ~{len(ev.changed)}")
            elif ev.kind == "overrun":
                self.notice = f"{time.strftime('%H:%M:%S')} notifications overran; the view may be stale"
            if self._shows(ev):
                self.recent.append((time.time(), ev))
            self.rate.tick()
            self.version += 1

    def _load(self, routes) -> None:
        """The table as the subscription began: built outside the lock (a
        million routes take a second), then swapped in."""
        table = {sort_key(r): r for r in routes if self._wants(r)}
        order = SortedKeys(table)  # in the dump's order already: the sort is one pass
        with self.lock:
            self.routes, self.order = table, order
            self._restart_text()
            self.version += 1
        self.ready.set()

    def _shows(self, ev: Event) -> bool:
        """Whether the event goes to the list of latest changes."""
        r = ev.route
        if r is None:
            return True
        if not (self._wants(r) or sort_key(r) in self.routes):
            return False
        return self.text is None or self.text.matches(r)

    def _looked_at(self, key) -> bool:
        """Whether the text filter has classified this key's place yet (a key
        it has not reached is classified when the scan gets there)."""
        return not self._scanning or (self._scanned is not None and key <= self._scanned)

    def _put(self, route) -> None:
        key = sort_key(route)
        if not self._wants(route):
            self._drop(key)
            return
        self.routes[key] = route
        self.order.add(key)
        if self.text is not None and self._looked_at(key):
            if self.text.matches(route):
                self.shown.add(key)
            else:
                self.shown.discard(key)

    def _drop(self, key) -> None:
        if self.routes.pop(key, None) is not None:
            self.order.discard(key)
            if self.text is not None:
                self.shown.discard(key)

    def _flush(self, flt: Filter) -> None:
        """A flush: the routes the filter matches go.  Keys begin (table,
        family), so a flush of one table (and family) is one stretch of the
        order, dropped whole; any other filter is tried on that stretch."""
        first, after, whole = _span(flt)

        def stretch(keys: SortedKeys) -> tuple[int, int]:
            return (0 if first is None else keys.bisect_left(first),
                    len(keys) if after is None else keys.bisect_left(after))

        lo, hi = stretch(self.order)
        dead = self.order.keys(lo, hi)
        if not whole:
            dead = [k for k in dead if flt.matches(self.routes[k])]
        for k in dead:
            del self.routes[k]
        if whole:
            if self.text is not None:
                self.shown.discard_span(*stretch(self.shown))
            self.order.discard_span(lo, hi)
        else:
            self.order.discard_many(dead)
            if self.text is not None:
                self.shown.discard_many(dead)

    # -- the foreground --

    def set_text(self, pattern: Optional[str]) -> None:
        """The screen's text filter; None or '' for none.  A pattern that is
        no regular expression raises re.error and changes nothing."""
        text = TextFilter(pattern, self.devices) if pattern else None
        with self.lock:
            self.text = text
            self._restart_text()
            self.version += 1

    def _restart_text(self) -> None:
        if self.text is None:
            self.shown = self.order
            self._scanning = False
        else:
            self.shown = SortedKeys()
            self._scanned = None
            self._scanning = True

    @property
    def pattern(self) -> Optional[str]:
        text = self.text
        return text.pattern if text is not None else None

    @property
    def searching(self) -> bool:
        """The text filter has not looked at every route yet."""
        return self._scanning

    def filter_step(self, chunk: int = SCAN_CHUNK) -> bool:
        """Apply the text filter to the next ``chunk`` routes; True once it
        has looked at all of them.  Holds the lock for one chunk only."""
        with self.lock:
            if not self._scanning:
                return True
            start = 0 if self._scanned is None else self.order.bisect_right(self._scanned)
            keys = self.order.keys(start, start + chunk)
            match, routes = self.text.matches, self.routes
            for k in keys:
                if match(routes[k]):
                    self.shown.add(k)  # past every key shown so far: the end of the last block
            if len(keys) < chunk:
                self._scanning = False
            else:
                self._scanned = keys[-1]
            self.version += 1
            return not self._scanning

    def count(self) -> int:
        with self.lock:
            return len(self.shown)

    def window(self, offset: int, height: int) -> Window:
        """The routes at [offset, offset + height) of those shown, and what
        the header says.  An offset past the end moves back to show a full
        screen.  O(height + log N)."""
        with self.lock:
            shown = self.shown
            offset = max(0, min(offset, len(shown) - height))
            rows = [self.routes[k] for k in shown.keys(offset, offset + height)]
            searched = None
            if self._scanning:
                seen = 0 if self._scanned is None else self.order.bisect_right(self._scanned)
                searched = seen / len(self.order) if self.order else 0.0
            return Window(rows, offset, len(shown), len(self.routes), list(self.recent), self.notice,
                          self.version, self.pattern, searched)


def _span(flt: Filter) -> tuple[Optional[tuple], Optional[tuple], bool]:
    """(first, after, whole): the keys in [first, after) are those a flush
    with this filter may drop (None: open), and whole says they all match."""
    whole = flt == Filter(table=flt.table, family=flt.family, match=flt.match)
    if flt.table is None:
        return None, None, whole and flt.family is None
    first = (flt.table,) if flt.family is None else (flt.table, flt.family)
    return first, first[:-1] + (first[-1] + 1,), whole


# -- the screen ----------------------------------------------------------------------


class WatchScreen:
    """What the watch screen shows and what its keys do (no terminal here).

    Keys: Up/Down a row, PgUp/PgDn a screen, Home/End, '/' types a filter
    (Enter applies it, Esc clears it), Esc clears it, q or Ctrl-C leaves.
    """

    def __init__(self, model: WatchModel, title: str, devices=None, own=()):
        self.model = model
        self.title = title
        self.devices = devices
        self.own = own
        self.offset = 0
        self.height = 1  # routes a screen holds (as the last view found)
        self.page = 1  # routes the last view showed: what PgUp/PgDn move by
        self.typing: Optional[str] = None  # the filter being typed after '/'
        self.message: Optional[str] = None  # one line about what was typed
        self.done = False

    def press(self, key: str) -> None:
        if key in ("c-c", "eof"):
            self.done = True
        elif self.typing is not None:
            self._edit(key)
        elif key == "q":
            self.done = True
        elif key == "/":
            self.typing = self.model.pattern or ""
            self.message = None
        elif key == "escape":
            self._apply(None)
        elif key == "home":
            self.offset = 0
        elif key == "end":
            self.offset = self.model.count()
        else:
            self.offset += {"up": -1, "down": 1, "pageup": -self.page, "pagedown": self.page}.get(key, 0)
        self.offset = max(0, min(self.offset, self.model.count() - self.height))

    def _edit(self, key: str) -> None:
        assert self.typing is not None
        if key in ("c-m", "c-j"):  # Enter
            self._apply(self.typing)
        elif key == "escape":
            self._apply(None)
        elif key == "c-h":  # Backspace
            self.typing = self.typing[:-1]
            self.message = None
        elif len(key) == 1 and key.isprintable():
            self.typing += key
            self.message = None

    def _apply(self, pattern: Optional[str]) -> None:
        try:
            self.model.set_text(pattern)
        except re.error as exc:
            self.message = f"not a regular expression: {exc}"
            return
        self.typing = self.message = None
        self.offset = 0

    def view(self, lines: int, rate: float):
        """(renderable, model version) for a screen of ``lines`` lines."""
        from rtshell.render import origin_text, watch_view

        self.height = max(1, lines - CHROME - RECENT)
        win = self.model.window(self.offset, self.height)
        rows = _fit(win.rows, self.height)
        self.offset, self.page = win.offset, max(1, len(rows))
        events = [(when, ev, origin_text(ev.pid, self.own)) for when, ev in win.recent]
        return watch_view(rows, win, events, self.title, rate, self.typing, self.message, self.devices), win.version


def _fit(rows: list[Route], lines: int) -> list[Route]:
    """The rows that fit in ``lines`` (a multipath route takes a line per next hop)."""
    out: list[Route] = []
    used = 0
    for r in rows:
        used += max(1, len(r.nexthops))
        if used > lines and out:
            break
        out.append(r)
    return out


# -- the keys -----------------------------------------------------------------------


class TerminalKeys:
    """Keys from the terminal, read without blocking the redraw.

    The terminal is in raw mode meanwhile (prompt_toolkit's, which keeps
    output processing, so rich's newlines stay newlines; Ctrl-C comes as a
    key) and is put back as it was on leaving.  The fd may be non-blocking
    (QEMU leaves the VM's console so): select says when to read, and a read
    that would block reads nothing.  prompt_toolkit's parser turns the bytes
    into key names.
    """

    def __init__(self, fd: int, clock: Callable[[], float] = time.monotonic):
        from prompt_toolkit.input.vt100 import raw_mode
        from prompt_toolkit.input.vt100_parser import Vt100Parser

        self.fd = fd
        self.clock = clock
        self._pressed: list = []
        self._parser = Vt100Parser(self._pressed.append)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._raw = raw_mode(fd)
        self._last = 0.0  # when bytes last came

    def __enter__(self) -> "TerminalKeys":
        self._raw.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._raw.__exit__(*exc)

    def read(self, timeout: float) -> list[str]:
        """The keys pressed, waiting up to ``timeout`` seconds for the first;
        ['eof'] once the terminal is gone."""
        from prompt_toolkit.keys import Keys

        data = b""
        try:
            if select.select([self.fd], [], [], timeout)[0]:
                data = os.read(self.fd, 1024)
                if not data:
                    return ["eof"]
        except BlockingIOError:
            pass
        except OSError:
            return ["eof"]
        if data:
            self._parser.feed(self._decoder.decode(data))
            self._last = self.clock()
        elif self.clock() - self._last >= ESC_WAIT:
            self._parser.flush()  # an Esc that nothing followed is the Esc key
        keys = [p.key.value if isinstance(p.key, Keys) else p.key for p in self._pressed]
        del self._pressed[:]
        return keys


class NoKeys:
    """No terminal to read keys from: the loop only waits, and Ctrl-C
    (SIGINT) leaves."""

    def __enter__(self) -> "NoKeys":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def read(self, timeout: float) -> list[str]:
        time.sleep(timeout)
        return []


def terminal_keys(ex):
    """Where the screen's keys come from: the terminal the user types on."""
    fd = getattr(ex.pager, "keys_fd", None)
    if fd is None:
        try:
            fd = sys.stdin.fileno()
        except (OSError, ValueError, AttributeError):
            fd = None
    if fd is not None and os.isatty(fd):
        return TerminalKeys(fd)
    return NoKeys()


# -- the loop -----------------------------------------------------------------------


def run_watch(ex, flt: Optional[Filter], keys=None, clock: Callable[[], float] = time.monotonic) -> None:
    """The watch screen until q or Ctrl-C.  keys: where keys come from (a
    context manager with read(timeout) -> [key name]; the terminal's by default)."""
    from rtshell.render import filter_text

    model = WatchModel(flt, ex.devices)
    sub = ex.client.subscribe(model.on_event, None, resync=True)
    screen = WatchScreen(model, "watch " + (filter_text(flt, ex.devices) or "all tables"), ex.devices,
                         ex.own_ports())
    try:
        model.ready.wait(getattr(ex.client, "timeout", 5.0))
        with keys if keys is not None else terminal_keys(ex) as source:
            _loop(screen, ex.output.console, source, clock)
    finally:
        sub.close()


def _loop(screen: WatchScreen, console, source, clock: Callable[[], float]) -> None:
    from rich.live import Live

    model = screen.model
    renderable, drawn = screen.view(console.size.height, model.rate.rate())
    last, pressed = clock(), False

    def due() -> float:
        """When the next redraw may be: soon after a key, at most every
        REFRESH for events, every IDLE for the clock."""
        return last + (KEY_GAP if pressed else REFRESH if model.version != drawn else IDLE)

    with Live(renderable, console=console, screen=True, auto_refresh=False, transient=True) as live:
        while True:
            wait = 0.0 if model.searching else min(REFRESH, max(0.0, due() - clock()))
            for key in source.read(wait):
                screen.press(key)
                pressed = True
            if screen.done:
                return
            if model.searching:
                stop = clock() + SCAN_SLICE
                while not model.filter_step() and clock() < stop:
                    pass
            if clock() >= due():
                renderable, drawn = screen.view(console.size.height, model.rate.rate())
                live.update(renderable, refresh=True)
                last, pressed = clock(), False
