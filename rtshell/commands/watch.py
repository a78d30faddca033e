"""`watch`: a live full-screen table, updated as notifications arrive.

The notification thread changes a :class:`WatchModel` under a lock; the
foreground loop reads the window the screen shows (the routes at positions
[offset, offset + height) in the kernel's order; today the first screenful)
a few times a second and builds a fresh table from it (rich's progress.py
habit: no rich object crosses threads).  The model keeps that order in a
:class:`rtshell.sortedkeys.SortedKeys`, so an event costs O(log N) and a
window read O(height + log N): the lock is held for microseconds, at a
million routes as at ten, and the notification thread never waits on a
redraw.

A text filter is a regular expression searched in each route's ``ip``
words.  Applying one to a large table is O(N), so it is done a chunk at a
time (:meth:`WatchModel.filter_step`); until it is through, the window holds
the matches found so far, in order.  rich.live.Live owns the screen only
here, in the foreground, while the prompt is not running.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from dataclasses import dataclass
from typing import Optional

from rtshell.model import Event, Filter, Route, sort_key
from rtshell.sortedkeys import SortedKeys
from rtshell.words import dev_name, route_text

REFRESH = 0.25  # seconds between redraws at most
RECENT = 6  # the latest changes, under the table
SCAN_CHUNK = 1000  # routes the text filter looks at per hold of the lock (a few ms)


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
        if ev.kind == "resync" and getattr(ev, "initial", False):
            self._load(getattr(ev, "added", ()))
            return
        with self.lock:
            if ev.kind == "resync":
                added, removed = getattr(ev, "added", ()), getattr(ev, "removed", ())
                changed = getattr(ev, "changed", ())
                for r in removed:
                    self._drop(sort_key(r))
                for r in tuple(added) + tuple(changed):
                    self._put(r)
                self.notice = (f"{time.strftime('%H:%M:%S')} notifications overran; resynced: "
                               f"+{len(added)} -{len(removed)} ~{len(changed)}")
            elif ev.kind == "new" and ev.route is not None:
                self._put(ev.route)
            elif ev.kind == "del" and ev.route is not None:
                self._drop(sort_key(ev.route))
            elif ev.kind == "flush":
                self._flush(ev.filter or Filter())
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


def run_watch(ex, flt: Optional[Filter]) -> None:
    from rich.live import Live

    from rtshell.render import filter_text, origin_text, watch_view

    model = WatchModel(flt, ex.devices)
    sub = ex.client.subscribe(model.on_event, None, resync=True)
    console = ex.output.console
    title = "watch " + (filter_text(flt, ex.devices) or "all tables")
    own = ex.own_ports()

    def view():
        win = model.window(0, max(1, console.size.height - 10))
        events = [(when, ev, origin_text(ev.pid, own)) for when, ev in win.recent]
        return watch_view(win.rows, win.total, events, title, model.rate.rate(), win.notice, ex.devices), win.version

    try:
        model.ready.wait(ex.client.timeout if hasattr(ex.client, "timeout") else 5.0)
        renderable, shown = view()
        last = time.monotonic()
        with Live(renderable, console=console, screen=True, auto_refresh=False, transient=True) as live:
            while True:
                time.sleep(REFRESH)
                if model.version != shown or time.monotonic() - last >= 1.0:
                    renderable, shown = view()
                    live.update(renderable, refresh=True)
                    last = time.monotonic()
    finally:
        sub.close()
