"""A dump as its consumer sees it: chunks across restarts (no I/O)."""

from __future__ import annotations

import logging
from typing import Optional, Protocol

from rtshell.client.core import Chunk, Op, SortKey, dump_interrupted
from rtshell.model import Route, sort_key
from rtshell.client.core import DUMP_ATTEMPTS

log = logging.getLogger(__name__)


class HasRestarts(Protocol):
    """A client, as a dump's reader counts its restarts."""

    dump_restarts: int


class DumpReader:
    """What a dump hands its consumer, chunk by chunk, across restarts (no I/O).

    Streaming (``consistent=False``): the routes of each chunk as they come.
    After an interruption (``NLM_F_DUMP_INTR``, or a route out of the
    kernel's sort order) the caller closes the attempt, starts the dump again
    (:meth:`restart`), and the routes up to the last one handed over are
    skipped (the kernel sorts dumps): each route at most once, in order, and
    every route that existed for the whole dump.  Consistent: nothing until
    an attempt ends uninterrupted and in order, then all of it.  The
    caller's loop::

        while reader.attempt(client):
            (send the dump; for each chunk: hand over reader.take(chunk),
             and stop at reader.interrupted)
    """

    def __init__(self, op: Op, consistent: bool) -> None:
        self.op = op
        self.consistent = consistent
        self.interrupted = False  # this attempt is over: stop reading it
        self._attempts = 0
        self._cursor: Optional[SortKey] = None  # sort key of the last route handed over
        self._prev: Optional[SortKey] = None  # sort key of the last route of this attempt
        self._collected: list[Route] = []  # consistent: the attempt so far

    def attempt(self, client: HasRestarts) -> bool:
        """Whether to send the dump (again): at first, and after an interruption
        (counted in ``client.dump_restarts``).  DumpInterrupted when none is left."""
        if self._attempts and not self.interrupted:
            return False
        if self._attempts:
            client.dump_restarts += 1
            if self._attempts >= DUMP_ATTEMPTS:
                raise dump_interrupted(self.op)
        self._attempts += 1
        self.interrupted = False
        self._prev = None
        self._collected = []
        return True

    def take(self, chunk: Chunk) -> list[Route]:
        """The routes of ``chunk`` to hand over now."""
        if self.consistent:
            return self._take_whole(chunk)
        routes = chunk.routes
        cut = len(routes) if chunk.intr_at is None else chunk.intr_at
        out: list[Route] = []
        prev, cursor = self._prev, self._cursor
        for i, route in enumerate(routes):
            if i >= cut:
                self.interrupted = True
                break
            key = sort_key(route)
            if prev is not None and key <= prev:
                # the kernel promises sorted dumps; a repeat or a
                # step back means its cursor slipped: start over
                log.warning("dump out of order at %s: restarting", route.dst)
                self.interrupted = True
                break
            prev = key
            if cursor is not None and key <= cursor:
                continue  # handed over by an earlier attempt
            cursor = key
            out.append(route)
        self._prev, self._cursor = prev, cursor
        if chunk.end is not None and chunk.intr_at is not None:
            self.interrupted = True
        return out

    def _take_whole(self, chunk: Chunk) -> list[Route]:
        if chunk.intr_at is not None:
            self.interrupted = True
            return []
        self._collected.extend(chunk.routes)
        if chunk.end is not True:
            return []
        keys = [sort_key(r) for r in self._collected]
        if all(a < b for a, b in zip(keys, keys[1:])):
            return self._collected
        log.warning("dump out of order: retrying")
        self.interrupted = True
        return []


