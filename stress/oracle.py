"""The oracle: the kernel's own notifications, replayed, must give its table.

A :class:`Listener` joins the route group before an attack starts and keeps
every notification.  :func:`replay` applies them in order to an empty table
(a flush removes what its filter matches, and must have removed exactly the
count it says); :func:`compare` holds the result against a fresh dump.  An
acknowledged change that was not notified, a refused one that was, or a
notification that says something other than what happened, all show up
here as a difference, or in :func:`check_requesters`.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Iterable, Iterator, Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Route

from stress import Tally
from stress.replies import Outcome

LISTENER_RCVBUF = 64 << 20  # forced past rmem_max: the listener is root


def value(route: Route) -> tuple:
    """What a route says, without its timestamps."""
    return (route.type, route.proto, route.gateway, route.oif, route.nexthops)


class Listener:
    """Every notification of the route group, kept as datagrams until :meth:`stop`."""

    def __init__(self) -> None:
        self.sock = nl.NetlinkSocket(groups=nl.GROUP_ROUTE, rcvbuf=LISTENER_RCVBUF)
        self.datagrams: list[bytes] = []
        self.overruns = 0
        self.last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stress-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(0.2, queued=True)
            except errors.Overrun:
                self.overruns += 1
                continue
            if data:
                self.datagrams.append(data)
                self.last = time.monotonic()

    def stop(self, quiet: float = 1.0) -> list[nl.Message]:
        """Wait until nothing came for ``quiet`` seconds; every notification, in order."""
        while time.monotonic() - self.last < quiet:
            time.sleep(0.1)
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return [m for d in self.datagrams for m in nl.parse(d)]


def replay(notes: Iterable[nl.Message], tally: Tally,
           start: Optional[dict] = None) -> dict:
    """The table the notifications describe: key -> route."""
    table: dict = dict(start or {})
    for m in notes:
        if m.kind == "route" and m.type == P.RTMGR_MSG_NEWROUTE:
            table[m.route.key] = m.route
        elif m.kind == "route" and m.type == P.RTMGR_MSG_DELROUTE:
            if table.pop(m.route.key, None) is None:
                tally.fail(f"a deletion of {m.route.key} notified, which no notification had added")
        elif m.kind == "flush":
            gone = [k for k, r in table.items() if m.filter is None or m.filter.matches(r)]
            for k in gone:
                del table[k]
            if m.count != len(gone):
                tally.fail(f"a flush notified with count {m.count}; its filter {m.filter} matches "
                           f"{len(gone)} routes of the replayed table")
        else:
            tally.fail(f"a notification of kind {m.kind} (type {m.type}) in the route group")
    return table


def _answers(request: bytes, what: str) -> Iterator[nl.Message]:
    """The messages answering one request on a socket of its own, to its ACK or DONE."""
    with nl.NetlinkSocket() as sock:
        sock.send(request)
        while True:
            data = sock.recv(120.0)
            if data is None:
                raise TimeoutError(f"no answer to the {what}")
            for m in nl.parse(data):
                if m.kind == "error" or (m.kind == "done" and m.error):
                    raise m.exception(what)
                yield m
                if m.kind in ("ack", "done"):
                    return


def flush_all() -> int:
    """Empty the table of this namespace; the routes removed."""
    count = 0
    for m in _answers(nl.build_flush(1), "flush for the oracle"):
        if m.kind == "flush":
            count = m.count or 0
    return count


def dump_table() -> dict:
    """The table as a fresh dump gives it: key -> route."""
    table: dict = {}
    for m in _answers(nl.build_dump(1), "dump for the oracle"):
        if m.kind == "route":
            table[m.route.key] = m.route
        elif m.kind == "done" and m.dump_intr:
            return dump_table()  # a change crossed it: once more
    return table


def compare(replayed: dict, dumped: dict, tally: Tally, what: str) -> None:
    """Every difference between two tables, as failures (the first few in words)."""
    missing = [k for k in dumped if k not in replayed]
    extra = [k for k in replayed if k not in dumped]
    differ = [k for k in dumped if k in replayed and value(dumped[k]) != value(replayed[k])]
    for k in missing[:5]:
        tally.fail(f"{what}: {dumped[k]} is in the table, but no notification put it there")
    for k in extra[:5]:
        tally.fail(f"{what}: the notifications leave {replayed[k]}, which the table does not hold")
    for k in differ[:5]:
        tally.fail(f"{what}: the table holds {dumped[k]}, the notifications say {replayed[k]}")
    if len(missing) + len(extra) + len(differ) > 15:
        tally.fail(f"{what}: {len(missing)} missing, {len(extra)} extra, {len(differ)} different in all")
    tally.notes.append(f"{what}: {len(dumped):,} routes, notifications replayed to "
                       f"{'the same table' if not (missing or extra or differ) else 'another table'}")


def check_requesters(notes: list[nl.Message], outcomes: dict[tuple[int, int], Outcome],
                     ports: set[int], tally: Tally, lied_seqs: set[tuple[int, int]]) -> None:
    """Each notification of our ports answers a request taken, and each change
    acknowledged has exactly one (a flush: one when it removed anything)."""
    by_request: collections.Counter = collections.Counter()
    for m in notes:
        if m.pid not in ports:
            continue
        by_request[(m.pid, m.seq)] += 1
        out = outcomes.get((m.pid, m.seq))
        if out is None:
            if (m.pid, m.seq) not in lied_seqs:
                tally.fail(f"a notification with pid {m.pid} seq {m.seq}: no request of ours had that seq")
        elif out.errno:
            tally.fail(f"request pid {m.pid} seq {m.seq} was refused (errno {out.errno}: {out.text}) "
                       f"and notified")
    for (pid, seq), out in outcomes.items():
        n = by_request[(pid, seq)]
        if out.flush_count is not None and not out.errno:  # a flush taken, ACK asked or not
            want = 1 if out.flush_count else 0
        elif out.errno != 0:
            continue  # refused (checked above), or taken silently: what it was is not known
        elif out.flags is not None and not out.flags & P.NLM_F_REQUEST:
            want = 0  # not a request: netlink itself acknowledges it, rtmgr never sees it
        elif out.request_type in (P.RTMGR_MSG_NEWROUTE, P.RTMGR_MSG_DELROUTE):
            if out.flags is None:
                continue  # a lie in the round: which flags the kernel read is not known
            want = 1
        else:
            want = 0
        if n != want:
            tally.fail(f"request pid {pid} seq {seq} (type {out.request_type}) was acknowledged "
                       f"and notified {n} times, not {want}")
