"""Attacks on the module, run inside the VM: ``make stress`` (full counts) and,
seeded and short, in every ``make test`` (tests/kernel/test_stress.py).

Each attack is a module with one entry point that returns a :class:`Tally`
(what it tried, and every failure it found, in words):

* :mod:`stress.fuzz` -- structure-aware mutation of valid requests of every
  message type (:mod:`stress.mutate`), each reply checked
  (:mod:`stress.replies`), the table checked against the notifications at the
  end (:mod:`stress.oracle`); as root, then as an unprivileged user who must
  change nothing.
* :mod:`stress.writers` -- many processes changing overlapping keys at once:
  every acknowledged change has exactly one notification with its pid and
  seq, a refused one none, and the notifications replay to the final table.
* :mod:`stress.overrun` -- a subscriber that stops reading while far more
  changes go by than its socket holds: it must be told, and its copy of the
  table, resynced, must equal a fresh dump.
* :mod:`stress.faults` -- every allocation of every request path failed in
  turn (the module's ``fail_alloc`` knob): a clean ENOMEM with text that
  changed nothing, or a lost notification that listeners are told of.
* :mod:`stress.lifetime` -- load, fill two namespaces, unload, many times:
  the slab memory must come back; a namespace destroyed takes its routes.

``python -m stress`` runs them and prints one table (:mod:`stress.__main__`).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Tally:
    """What one attack did and found."""

    name: str
    seed: int
    inputs: int = 0  # messages (or requests) made
    requests: int = 0  # requests the kernel answered or took silently
    counts: collections.Counter = field(default_factory=collections.Counter)  # outcome -> n
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # figures worth printing
    seconds: float = 0.0

    MAX_FAILURES = 50  # kept in words; the rest are counted

    def fail(self, text: str) -> None:
        self.counts["failures"] += 1
        if len(self.failures) < self.MAX_FAILURES:
            self.failures.append(text)

    @property
    def failed(self) -> int:
        return self.counts["failures"]


def nth_prefix(i: int) -> str:
    """The i-th of a run of distinct /24 prefixes, 10.0.0.0/24 upwards (bulk fills)."""
    return f"{10 + i // 65536}.{i // 256 % 256}.{i % 256}.0/24"


class Child:
    """A forked process running ``fn(*args)`` (as ``uid`` when given), whose
    returned string comes back through a pipe: :meth:`result`."""

    def __init__(self, fn: Callable[..., str], *args: object, uid: Optional[int] = None):
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # never returns into the caller
            code = 1
            try:
                os.close(r)
                if uid is not None:
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                with os.fdopen(w, "w") as f:
                    f.write(fn(*args))
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self._r = r

    def result(self) -> Optional[str]:
        """What it returned; None when it failed."""
        with os.fdopen(self._r) as f:
            text = f.read()
        _, status = os.waitpid(self.pid, 0)
        return text if os.waitstatus_to_exitcode(status) == 0 and text else None
