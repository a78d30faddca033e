"""A subscriber that stops reading while the table changes under it.

A :class:`rtshell.client.Client` subscriber (``resync=True``) keeps its own
copy of the table from the events it is given.  Its callback then blocks
while another process adds routes, replaces some and deletes others, far
more than the notification socket holds.  Released, the subscriber must be
told of the overrun by a resync event, and its copy, with the resync
applied, must equal a fresh dump.
"""

from __future__ import annotations

import threading
import time

from rtshell.client import Client
from rtshell.model import Filter, Route

from stress import Child, Tally, nth_prefix
from stress import mutate, oracle

TABLE = 400  # the routes of this attack; nothing else writes here


def _change(routes: int, oif: int) -> str:
    """In a child: add ``routes`` routes to TABLE, then replace a tenth and delete a tenth."""
    with Client(timeout=120.0) as client:
        with client.batch() as b:
            for i in range(routes):
                b.add(Route(nth_prefix(i), table=TABLE, oif=oif))
        with client.batch() as b:
            for i in range(0, routes, 10):
                b.replace(Route(nth_prefix(i), table=TABLE,
                                oif=oif, metric=0, proto=186))
            for i in range(5, routes, 10):
                b.delete(Route(nth_prefix(i), table=TABLE))
    return "done"


def run(seed: int, routes: int) -> Tally:
    tally = Tally("paused subscriber", seed)
    started = time.monotonic()
    pool = mutate.Pool.here()
    mine: dict = {}
    resyncs = []
    paused, release = threading.Event(), threading.Event()
    lock = threading.Lock()  # mine: the notifier thread writes, this one reads

    def on_event(ev) -> None:
        with lock:
            apply(ev)
        if ev.kind != "resync" and not paused.is_set():
            paused.set()
            release.wait()  # the subscriber stops reading here

    def apply(ev) -> None:
        if ev.kind == "resync" and not ev.initial:
            resyncs.append(ev)
        elif ev.kind not in ("resync", "new", "del", "flush"):
            tally.fail(f"an event of kind {ev.kind} reached a resync subscriber")
        ev.apply_to(mine)

    def copy() -> dict:
        with lock:
            return {k: r for k, r in mine.items() if k[0] == TABLE}

    with Client(timeout=120.0) as client:
        client.flush(Filter(table=TABLE))
        sub = client.subscribe(on_event, resync=True)
        try:
            client.add(Route("192.0.2.0/24", table=TABLE, oif=pool.oifs[0]))
            if not paused.wait(60.0):
                tally.fail("the first event never reached the subscriber")
            if Child(_change, routes, pool.oifs[0]).result() is None:
                tally.fail("the writer failed")
            tally.inputs = routes + routes // 5
            release.set()
            deadline = time.monotonic() + 600
            want = {k: r for k, r in oracle.dump_table().items() if k[0] == TABLE}
            while time.monotonic() < deadline:
                got = copy()
                if resyncs and {k: oracle.value(r) for k, r in got.items()} == \
                        {k: oracle.value(r) for k, r in want.items()}:
                    break
                time.sleep(0.5)
        finally:
            release.set()
            sub.close()
        if not resyncs:
            tally.fail(f"{routes + routes // 5:,} changes went by a paused subscriber and no resync came")
        got = copy()
        oracle.compare(got, want, tally, "the subscriber's copy after the resync")
        client.flush(Filter(table=TABLE))
    tally.requests = tally.inputs
    tally.counts["resyncs"] = len(resyncs)
    if resyncs:
        r = resyncs[0]
        tally.notes.append(f"the resync said: {len(r.added):,} added, {len(r.changed):,} changed, "
                           f"{len(r.removed):,} removed")
    tally.seconds = time.monotonic() - started
    return tally
