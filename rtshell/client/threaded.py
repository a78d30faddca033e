"""The threaded client: the API's verbs, each a plan (rtshell.client.plans)
run on the request side (transport.py); notifications on notifier.py's."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar, Union, overload

from rtshell import netlink as nl
from rtshell.client.batch import Batch
from rtshell.client.core import Address, Plan, Request, Pending
from rtshell.client.dumps import DumpReader
from rtshell.client.notifications import MONITOR_DEPTH, Monitor
from rtshell.client.notifier import Notifier
from rtshell.client.plans import (change_plan, delete_plan, dump_request, flush_plan, get_plan,
                                  lookup_many_plan, lookup_plan, stats_plan)
from rtshell.client.sockets import NOTIFY_RCVBUF, POLL_INTERVAL, REQUEST_RCVBUF
from rtshell.client.transport import Transport
from rtshell.model import TABLE_MAIN, Filter, LookupResult, Network, Route, Stats

log = logging.getLogger(__name__)

_T = TypeVar("_T")

class Client(Transport, Notifier):
    """A connection to rtmgr: request and notification sockets plus threads.

    ``timeout``: seconds any wait may last (see the module documentation).
    ``rcvbuf``: receive buffer of the request socket (large: a batch's ACKs
    are queued while it is processed; the client keeps no more requests
    outstanding than their answers can fill).  ``notify_rcvbuf``: receive
    buffer of the notification socket (None: the system default).  Without
    CAP_NET_ADMIN the kernel caps both at net.core.rmem_max.

    Raises :class:`~rtshell.errors.ModuleNotLoaded` when rtmgr is not loaded.

    Attributes: ``timeout`` and ``trace`` (``callable(direction, bytes)``
    with direction ``"send"`` or ``"recv"``, called on the sending or
    receiving thread for every buffer) may be set at any time; ``portid``
    (notifications carry it), ``closed``; counters ``dropped`` (replies to
    no current request: late or of abandoned dumps), ``dump_restarts``
    (dumps retried after NLM_F_DUMP_INTR) and ``resyncs`` (notification
    overruns repaired).  Call :meth:`close` (or use ``with``): the threads
    keep the client alive until then.
    """

    def __init__(self, timeout: float = 5.0, *, rcvbuf: Optional[int] = REQUEST_RCVBUF,
                 notify_rcvbuf: Optional[int] = NOTIFY_RCVBUF,
                 _socket_factory: Optional[Callable[..., nl.NetlinkSocket]] = None) -> None:
        self.timeout = float(timeout)
        self.trace: Optional[Callable[[str, bytes], None]] = None
        self._socket_factory = _socket_factory or nl.NetlinkSocket
        self._closed = False
        self.dump_restarts = 0  # dumps started again after NLM_F_DUMP_INTR
        self._open_requests(rcvbuf)
        self._open_notifications(notify_rcvbuf)
        self._start_threads()

    # ---- lifecycle -------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests sent or queued whose answer has not arrived yet."""
        with self._cv:
            return self._core.outstanding

    def close(self) -> None:
        """Stop the threads, fail what is still waiting, close the sockets.

        Idempotent.  Safe to call from a subscriber callback (the notifier
        thread is then not joined, it ends by itself).
        """
        with self._cv:
            if self._closed:
                return
            self._closed = True
        self._stop_requests()
        me = threading.current_thread()
        for thread in (self._sender, self._receiver, self._notifier):
            if thread is not None and thread is not me and thread.is_alive():
                # bounded: a subscriber callback that never returns must not
                # hang close() (the thread is a daemon and ends with it)
                thread.join(self.timeout + 2 * POLL_INTERVAL)
                if thread.is_alive():
                    log.warning("%s did not stop within %g s", thread.name, self.timeout)
        self._close_sockets()
        self._end_subscriptions()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the route API ---------------------------------------------------

    def add(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Create a route; RouteExists if its key is taken.  With ``echo``, the route as created."""
        return self._drive(change_plan("add", route, echo))

    def replace(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Create the route or overwrite the value of the one with its key."""
        return self._drive(change_plan("replace", route, echo))

    def change(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Overwrite an existing route; RouteNotFound if there is none."""
        return self._drive(change_plan("change", route, echo))

    def append(self, route: Route, echo: bool = False) -> Optional[Route]:
        """Add next hops to a unicast route (which becomes multipath), or create it."""
        return self._drive(change_plan("append", route, echo))

    @overload
    def delete(self, target: Route, echo: bool = False) -> Optional[Route]: ...
    @overload
    def delete(self, target: Filter, echo: bool = False) -> int: ...

    def delete(self, target: Union[Route, Filter], echo: bool = False) -> Union[Route, int, None]:
        """Delete a route, or every route passing a Filter.

        Route: dst and table name the route; gateway, oif, metric, and a type
        or proto other than UNSPEC / 0, must match it (NoSuchRoute otherwise).
        Returns the deleted route with ``echo``.  Filter: the same as
        :meth:`flush`, returns the number of routes deleted.
        """
        return self._drive(delete_plan(target, echo))

    def get(self, dst: Union[Network, str], table: int = TABLE_MAIN, metric: Optional[int] = None) -> Route:
        """The route with exactly this key (metric None: the prefix's
        lowest-metric route); RouteNotFound if there is none."""
        return self._drive(get_plan(dst, table, metric))

    def lookup(self, addr: Union[Address, str], table: int = TABLE_MAIN) -> Route:
        """The longest-prefix match of ``addr``; NoRoute if nothing matches."""
        return self._drive(lookup_plan(addr, table))

    def lookup_many(self, addrs: Iterable[Union[Address, str]],
                    table: int = TABLE_MAIN) -> list[LookupResult]:
        """Longest-prefix matches of many addresses, in their order.

        One bulk (``NLM_F_DUMP``) request per family and per
        ``RTMGR_MAX_LOOKUP_ADDRS`` addresses.  Each answer is an exact
        longest-prefix match at the moment it was computed.
        """
        return self._drive(lookup_many_plan(addrs, table))

    def flush(self, filter: Optional[Filter] = None) -> int:
        """Delete every route passing ``filter`` (None: every route); the count."""
        return self._drive(flush_plan(filter))

    def stats(self, *, tables: bool = True) -> Stats:
        """The module's counters for this network namespace.

        ``tables=True`` also lists the routes of every (table, family): a
        multipart answer of one message per pair, retried if the tables
        changed under it.  ``tables=False`` asks for the totals alone (one
        small message whatever the number of tables), for pollers.
        """
        return self._drive(stats_plan(tables))

    def dump(self, filter: Optional[Filter] = None, *, consistent: bool = False) -> Iterator[Route]:
        """Every route passing ``filter``, in the kernel's order, as it arrives.

        ``consistent=False`` streams (memory: a few buffers); an interrupted
        dump restarts and resumes after the last route yielded.
        ``consistent=True`` yields only a dump that ran uninterrupted: one
        snapshot of the table (memory: the whole answer once).  Close the
        iterator (or drop it) to abandon the dump.

        Each dump runs on a netlink socket of its own, read in the
        consumer's thread: the consumer may pause as long as it likes (a
        reader in a pager), nothing is buffered meanwhile, and other
        requests, dumps and bulk lookups, of any thread, go on.
        """
        op, build, _multi = dump_request(filter)
        reader = DumpReader(op, consistent)
        while reader.attempt(self):
            chunks = self._own_dump(op, build)
            try:
                for chunk in chunks:
                    yield from reader.take(chunk)
                    if reader.interrupted:
                        break
            finally:
                chunks.close()  # abandons the rest of an unfinished attempt

    def monitor(self, filter: Optional[Filter] = None, *, resync: bool = False) -> Monitor:
        """An iterator of events (subscribed at once), until closed or the client closes.

        Buffers up to ``MONITOR_DEPTH`` events; a consumer that falls further
        behind gets ``Overrun`` from ``next()`` (and may go on iterating).
        """
        self._check_open()
        return Monitor(self, filter, resync, MONITOR_DEPTH)

    def batch(self, atomic: bool = False, raise_on_error: bool = True) -> "Batch":
        """A batch of changes sent in as few ``sendmsg`` calls as fit; see :class:`Batch`."""
        return Batch(self, atomic=atomic, raise_on_error=raise_on_error)

    # ---- running plans (see ask) ------------------------------------------

    def _drive(self, plan: Plan[_T]) -> _T:
        """Run a plan: perform each step it yields, give it the outcome; its result."""
        outcome: Any = None
        try:
            while True:
                name, *args = plan.send(outcome)
                outcome = getattr(self, name)(*args)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        finally:
            plan.close()

    def _call_all(self, items: list[Request]) -> list[Pending[None]]:
        """Requests ``(op, build, False)`` pipelined, each answered or failed (not raised)."""
        pendings: list[Pending[None]] = []
        for start in range(0, len(items), Batch.SEND_RUN):  # the sender starts meanwhile
            pendings.extend(self._submit(items[start:start + Batch.SEND_RUN]))
        self._wait_all(pendings)
        return pendings

    def _snapshot(self, filter: Optional[Filter]) -> list[Route]:
        """One uninterrupted dump, collected (memory: the answer once)."""
        return list(self.dump(filter, consistent=True))
