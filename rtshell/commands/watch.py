"""`watch`: a live full-screen table, updated as notifications arrive.

The notification thread changes a model under a lock; the foreground loop
takes a snapshot (the first screenful, in the kernel's order) a few times a
second and builds a fresh table from it (rich's progress.py habit: no rich
object crosses threads).  rich.live.Live owns the screen only here, in the
foreground, while the prompt is not running.
"""

from __future__ import annotations

import collections
import heapq
import threading
import time
from typing import Optional

from rtshell.model import Event, Filter, sort_key

REFRESH = 0.25  # seconds between redraws at most


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


class WatchModel:
    """The routes passing a filter, kept current by notifications."""

    def __init__(self, flt: Optional[Filter]):
        self.filter = flt
        self.lock = threading.Lock()
        self.routes: dict = {}
        self.version = 0
        self.recent: collections.deque[tuple[float, Event]] = collections.deque(maxlen=6)
        self.notice: Optional[str] = None
        self.rate = Rate()
        self.ready = threading.Event()

    def _wants(self, route) -> bool:
        return self.filter is None or self.filter.matches(route)

    def on_event(self, ev: Event) -> None:
        """Called on the client's notification thread (subscribed unfiltered,
        so that a route changed out of the filter leaves the view)."""
        with self.lock:
            if ev.kind == "resync":
                added = getattr(ev, "added", ())
                if getattr(ev, "initial", False):
                    self.routes = {r.key: r for r in added if self._wants(r)}
                    self.ready.set()
                else:
                    removed, changed = getattr(ev, "removed", ()), getattr(ev, "changed", ())
                    for r in removed:
                        self.routes.pop(r.key, None)
                    for r in added + changed:
                        self._put(r)
                    self.notice = (f"{time.strftime('%H:%M:%S')} notifications overran; resynced: "
                                   f"+{len(added)} -{len(removed)} ~{len(changed)}")
            elif ev.kind == "new" and ev.route is not None:
                self._put(ev.route)
            elif ev.kind == "del" and ev.route is not None:
                self.routes.pop(ev.route.key, None)
            elif ev.kind == "flush":
                flt = ev.filter or Filter()
                for key in [k for k, r in self.routes.items() if flt.matches(r)]:
                    del self.routes[key]
            elif ev.kind == "overrun":
                self.notice = f"{time.strftime('%H:%M:%S')} notifications overran; the view may be stale"
            if ev.kind != "resync" or not getattr(ev, "initial", False):
                if ev.route is None or self._wants(ev.route) or ev.route.key in self.routes:
                    self.recent.append((time.time(), ev))
                self.rate.tick()
            self.version += 1

    def _put(self, route) -> None:
        if self._wants(route):
            self.routes[route.key] = route
        else:
            self.routes.pop(route.key, None)

    def snapshot(self, limit: int):
        with self.lock:
            rows = heapq.nsmallest(limit, self.routes.values(), key=sort_key)
            return rows, len(self.routes), list(self.recent), self.notice, self.version


def run_watch(ex, flt: Optional[Filter]) -> None:
    from rich.live import Live

    from rtshell.render import filter_text, origin_text, watch_view

    model = WatchModel(flt)
    sub = ex.client.subscribe(model.on_event, None, resync=True)
    console = ex.output.console
    title = "watch " + (filter_text(flt, ex.devices) or "all tables")
    own = ex.own_ports()

    def view():
        height = console.size.height
        rows, total, recent, notice, version = model.snapshot(max(1, height - 10))
        events = [(when, ev, origin_text(ev.pid, own)) for when, ev in recent]
        return watch_view(rows, total, events, title, model.rate.rate(), notice, ex.devices), version

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
