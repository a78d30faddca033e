"""What the live feed prints above the prompt: a few changes one per line,
a burst as one line when it ends.

:class:`Digest` is pure: it is given the notifications of one drain and
the time, and gives back the lines to print.  Per origin (the port id that
asked for the change), a drain of at most ``QUIET_MAX`` notifications is
printed one line each; more open a burst, which takes every later
notification of that origin until it has been quiet for ``BURST_GAP``
seconds and then prints one line::

    +100,000 routes by pid 812 (bird) in 3.2 s

A burst still going after ``BURST_NOTE`` seconds says how far it is, once
per ``BURST_NOTE``.  While muted (``terminal no monitor``) nothing is
printed and what was left out is counted; unmuting says so in one line.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Callable, Optional

QUIET_MAX = 8  # notifications of one origin in one drain still printed one by one
BURST_GAP = 1.0  # seconds of quiet that end a burst
BURST_NOTE = 10.0  # seconds between two notes on a burst that goes on


def changes_text(counts: collections.Counter) -> str:
    """'+100,000 -2 routes, 1 flush (40 routes)' from counts of new/del/flush/flushed."""
    parts = []
    if counts["new"]:
        parts.append(f"+{counts['new']:,}")
    if counts["del"]:
        parts.append(f"-{counts['del']:,}")
    word = "route" if counts["new"] + counts["del"] == 1 else "routes"
    text = " ".join(parts) + f" {word}" if parts else ""
    if counts["flush"]:
        flushes = f"{counts['flush']:,} flush{'es' if counts['flush'] != 1 else ''} ({counts['flushed']:,} routes)"
        text = f"{text}, {flushes}" if text else flushes
    return text or "no changes"


def tally(counts: collections.Counter, ev) -> None:
    counts[ev.kind] += 1
    if ev.kind == "flush":
        counts["flushed"] += ev.count


@dataclass
class Burst:
    origin: str
    first: float
    last: float
    noted: float
    counts: collections.Counter = field(default_factory=collections.Counter)

    def text(self, ending: str = "") -> str:
        """'+100,000 routes by pid 812 (bird) in 3.2 s'"""
        return f"{changes_text(self.counts)} by {self.origin} in {self.last - self.first:.1f} s{ending}"


class Digest:
    """Notifications in, lines out (``line(ev)`` renders one notification;
    summaries are plain strings)."""

    def __init__(self, line: Callable, origin: Callable[[int], str]):
        self._line = line  # ev -> a renderable for one notification
        self._origin = origin  # pid -> 'pid 812 (bird)', 'this shell', 'kernel'
        self.bursts: dict[int, Burst] = {}
        # what was just printed one by one, per origin: a burst that follows
        # within BURST_GAP counts it too (its first lines came early)
        self.recent: dict[int, Burst] = {}
        self.muted = False
        self.dropped: collections.Counter = collections.Counter()
        self.muted_since: Optional[float] = None

    def add(self, events: list, now: float) -> list:
        """The lines for one drain's notifications (in arrival order)."""
        if self.muted:
            for ev in events:
                tally(self.dropped, ev)
            return []
        by_origin: dict[int, list] = collections.defaultdict(list)
        for ev in events:
            by_origin[ev.pid].append(ev)
        out: list = []
        for pid, evs in by_origin.items():
            burst = self.bursts.get(pid)
            if burst is None and len(evs) <= QUIET_MAX:
                out.extend(self._line(ev) for ev in evs)
                seen = self.recent.get(pid)
                if seen is None or now - seen.last >= BURST_GAP:
                    seen = self.recent[pid] = Burst("", now, now, now)
                seen.last = now
                for ev in evs:
                    tally(seen.counts, ev)
                continue
            if burst is None:
                seen = self.recent.pop(pid, None)
                burst = self.bursts[pid] = Burst(self._origin(pid), now, now, now)
                if seen is not None and now - seen.last < BURST_GAP:
                    burst.first, burst.counts = seen.first, seen.counts
            burst.last = now
            for ev in evs:
                tally(burst.counts, ev)
        return out + self.tick(now, ended_only=False)

    def tick(self, now: float, ended_only: bool = True) -> list:
        """Lines for bursts that ended (quiet for BURST_GAP), and notes on long ones."""
        out = []
        for pid, b in list(self.recent.items()):
            if now - b.last >= BURST_GAP:
                del self.recent[pid]
        for pid, b in list(self.bursts.items()):
            if now - b.last >= BURST_GAP:
                del self.bursts[pid]
                out.append(b.text())
            elif not ended_only and now - b.noted >= BURST_NOTE:
                b.noted = now
                rate = sum(b.counts[k] for k in ("new", "del")) / max(now - b.first, 1e-9)
                out.append(f"{changes_text(b.counts)} by {b.origin} so far ({rate:,.0f}/s, going on)")
        return out

    def mute(self, now: float) -> list:
        """Stop printing: bursts under way are said now, the rest is counted."""
        if self.muted:
            return []
        out = [b.text(" (then muted)") for b in self.bursts.values()]
        self.bursts.clear()
        self.muted, self.muted_since = True, now
        self.dropped.clear()
        return out

    def unmute(self, now: float) -> list:
        """Print again; one line says what was left out meanwhile."""
        if not self.muted:
            return []
        self.muted = False
        seconds = now - (self.muted_since or now)
        n = sum(self.dropped[k] for k in ("new", "del", "flush"))
        if not n:
            return [f"monitor back on; no notifications in {seconds:.0f} s"]
        return [f"monitor back on; {n:,} notification{'s' if n != 1 else ''} not shown in {seconds:.0f} s: "
                f"{changes_text(self.dropped)}"]
