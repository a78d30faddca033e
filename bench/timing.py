"""Timing helpers: perf_counter runs, medians, adaptive repetition."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def repeat(
    fn: Callable[[], object],
    runs: int,
    budget: float,
    *,
    after: Optional[Callable[[object], object]] = None,
) -> list[float]:
    """Time ``fn`` up to ``runs`` times; stop early once ``budget`` seconds are spent.

    ``after(result)`` runs untimed after each run (to check the result).  At
    least one run is made.
    """
    times: list[float] = []
    for _ in range(runs):
        seconds, result = timed(fn)
        times.append(seconds)
        if after is not None:
            after(result)
        if sum(times) >= budget:
            break
    return times


def latencies(fn: Callable[[], object], samples: int, budget: float) -> list[float]:
    """Seconds of each of up to ``samples`` calls, fewer once ``budget`` is spent."""
    out: list[float] = []
    spent = 0.0
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        out.append(seconds)
        spent += seconds
        if spent >= budget:
            break
    return out
