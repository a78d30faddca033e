"""Long work: a progress bar while it runs, one summary line when it ends,
and Ctrl-C taken at a clean point.

:class:`Work` is what ``batch``, ``restore``, ``save`` and ``commit`` report
their progress to.  On a terminal (an Output in rich mode whose file is a
tty) it draws a transient rich progress bar (done/total, rate, time left);
anywhere else it draws nothing, so text for pipes and JSON stay as they
were.  Either way it counts what was done, by verb, and times it, for
:meth:`Work.summary` (``added 50,000 routes in 4.1 s; 0 failed``).

While a bar is drawn, every other line for the terminal (errors, the
notification feed) goes above it through :meth:`Work.print`, so the bar is
never torn (rich's Live keeps it at the bottom).

:func:`interrupt_point` makes SIGINT in the main thread a request to stop:
the work looks at it between two kernel round trips and stops there, so a
Ctrl-C never leaves a chunk of requests half sent and the summary can say
how far it got.  A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import collections
import contextlib
import signal
import threading
import time
from typing import Iterator, Optional

from rtshell.commands.request import PAST, ROUTE_METHODS

REFRESH_PER_SECOND = 4  # the bar over a slow serial console stays cheap


class Work:
    """One piece of long work: its progress, its tally and its clock."""

    def __init__(self, output, description: str, total: Optional[int], draw: Optional[bool] = None):
        self.output = output
        self.description = description
        self.total = total
        self.done = 0
        self.failed = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self.started = time.monotonic()
        self.elapsed = 0.0
        self._draw = _draws(output) if draw is None else draw
        self._bar = None
        self._task = None

    # -- the bar --

    def __enter__(self) -> "Work":
        self.started = time.monotonic()
        if self._draw and getattr(self.output, "work", None) is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                                       TextColumn, TimeRemainingColumn)

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
                                 TimeRemainingColumn(), console=self.output.console, transient=True,
                                 refresh_per_second=REFRESH_PER_SECOND)
            self._task = self._bar.add_task(self.description, total=self.total, rate="")
            self._bar.start()
            self.output.work = self
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.monotonic() - self.started
        if self._bar is not None:
            self.output.work = None
            self._bar.stop()
            self._bar = None

    def phase(self, description: str, total: Optional[int]) -> None:
        """The next part of the same work (read, then send): the bar starts
        over; the clock and the tally go on."""
        self.done = 0
        if self._bar is not None:
            self._bar.update(self._task, description=description, total=total, completed=0, rate="")

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            seconds = time.monotonic() - self.started
            rate = f"{self.done / seconds:,.0f}/s" if seconds > 0.2 else ""
            self._bar.update(self._task, completed=self.done, rate=rate)

    def print(self, renderable) -> None:
        """A line for the terminal while the bar is drawn: above the bar."""
        self._bar.console.print(renderable)

    # -- the tally --

    def count(self, verb: str, n: int = 1) -> None:
        """n things done with verb (a request method: add, delete, flush, ...,
        or any other word for other commands)."""
        self.counts[verb] += n

    def fail(self, n: int = 1) -> None:
        self.failed += n

    def summary(self, stopped_at: Optional[str] = None) -> str:
        """'added 50,000 routes in 4.1 s; 0 failed', with the parts that apply."""
        parts = [f"{PAST[m]} {self.counts[m]:,}" for m in ROUTE_METHODS if self.counts[m]]
        text = ", ".join(parts) + " routes" if parts else "changed no routes"
        other = sum(n for verb, n in self.counts.items() if verb not in PAST)
        if other:
            text += f", ran {other:,} other command{'s' if other != 1 else ''}"
        text += f" in {self.elapsed:.1f} s; {self.failed:,} failed"
        if stopped_at:
            text = f"interrupted before {stopped_at}: {text}"
        return text


def _draws(output) -> bool:
    if not getattr(output, "terminal", False):
        return False
    try:
        return bool(output.file.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# -- Ctrl-C at a clean point ------------------------------------------------------------


class StopRequest:
    """Set when Ctrl-C asked the running work to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()


_current: Optional[StopRequest] = None


@contextlib.contextmanager
def interrupt_point() -> Iterator[StopRequest]:
    """While the block runs in the main thread, the first SIGINT sets the
    returned StopRequest instead of raising; a second raises
    KeyboardInterrupt as usual.  Nested blocks share one request, so an
    inner batch's Ctrl-C stops the outer one too.  Off the main thread the
    request is never set (signals go to the main thread only)."""
    global _current
    if _current is not None:
        yield _current
        return
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame) -> None:
        if stop:
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_sigint)
    _current = stop
    try:
        yield stop
    finally:
        _current = None
        signal.signal(signal.SIGINT, previous)
