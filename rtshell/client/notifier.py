"""The threaded client's notification side: the notification socket and its
thread, subscriptions, and the mirror of the table kept for resync."""

from __future__ import annotations

import errno as _errno
import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell.client.base import ClientBase
from rtshell.client.core import DUMP_ATTEMPTS, RECV, Op, dump_interrupted
from rtshell.client.notifications import Mirror, OVERRUN, Subscription, deliver_all, events_in
from rtshell.client.sockets import read_loop, trace_to
from rtshell.model import Event, Filter, Route

log = logging.getLogger(__name__)


class Notifier(ClientBase[None]):
    """The notification side of :class:`rtshell.client.Client` (its base
    class): its state is under ``_sub_lock``; the notifier thread starts
    with the first subscriber."""

    timeout: float
    trace: Optional[Callable[[str, bytes], None]]
    _socket_factory: Callable[..., nl.NetlinkSocket]
    _stopping: threading.Event

    def _open_notifications(self, rcvbuf: Optional[int]) -> None:
        self._notify_rcvbuf = rcvbuf
        self._sub_lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._nsock: Optional[nl.NetlinkSocket] = None
        self._notifier: Optional[threading.Thread] = None
        self._mirror = Mirror()  # the table, while resync is wanted
        self._model_ready = threading.Condition(self._sub_lock)

    def _end_subscriptions(self) -> None:
        with self._sub_lock:
            for sub in self._subs:
                sub.closed = True
            self._subs.clear()

    if TYPE_CHECKING:
        def _snapshot(self, filter: Optional[Filter]) -> list[Route]: ...  # Client's

    def subscribe(self, callback: Callable[[Event], None], filter: Optional[Filter] = None,
                  *, resync: bool = False) -> Subscription:
        """Call ``callback(event)`` for every change (on the notifier thread).

        ``filter`` selects route events (flush events always pass).
        ``resync=True``: the client keeps a copy of the table while such a
        subscriber exists; the callback first gets a ResyncEvent with
        ``initial=True`` listing every current route, and after a
        notification overrun a ResyncEvent with the difference.
        """
        self._check_open()
        sub = Subscription(self, callback, filter, resync)
        self._start_notifier()
        for _attempt in range(DUMP_ATTEMPTS):
            if resync:
                self._build_model()
            with self._sub_lock:
                if resync:
                    if self._mirror.model is None:  # the last resync subscriber left meanwhile
                        continue
                    sub._first = sub.wants(self._mirror.first())
                self._subs.append(sub)
                return sub
        raise dump_interrupted(Op("show", None))

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._sub_lock:
            if sub in self._subs:
                self._subs.remove(sub)
            self._mirror.release(self._subs)

    def _start_notifier(self) -> None:
        with self._sub_lock:
            if self._nsock is not None:
                return
            self._nsock = self._socket_factory(groups=nl.GROUP_ROUTE, rcvbuf=self._notify_rcvbuf)
            self._notifier = threading.Thread(target=self._notify_loop, args=(self._nsock,),
                                              name="rtshell-notify", daemon=True)
            self._notifier.start()

    def _build_model(self) -> None:
        """Make sure the mirror of the table exists (see :class:`Mirror`).

        Called with the notification socket already joined; a thread that
        finds another building it waits for that one.
        """
        mirror = self._mirror
        with self._sub_lock:
            while mirror.building:
                if not self._model_ready.wait(self.timeout):
                    raise errors.error_for(_errno.ETIMEDOUT, None, "subscribe", None,
                                           "table snapshot not ready")
            if mirror.model is not None:
                return
        for _attempt in range(DUMP_ATTEMPTS):
            with self._sub_lock:
                mirror.begin()
            routes = None
            try:
                routes = self._snapshot(None)
            finally:
                with self._sub_lock:
                    mirror.end(routes)
                    self._model_ready.notify_all()
            if mirror.model is not None:
                return
        raise dump_interrupted(Op("show", None))

    def _notify_loop(self, sock: nl.NetlinkSocket) -> None:
        def overran() -> None:
            self._drain(sock)
            self._resync()

        read_loop(sock, self._stopping, "notification", self._notification_buffer, overran,
                  before=self._deliver_firsts)

    def _notification_buffer(self, buf: bytes) -> None:
        trace_to(self.trace, RECV, buf)
        events = events_in(buf)
        if events:
            with self._sub_lock:
                self._mirror.apply(events)
                subs = list(self._subs)
            deliver_all(subs, events)

    def _drain(self, sock: nl.NetlinkSocket) -> None:
        """After an overrun: take in every event still queued, before the resync dump.

        The kernel reports ENOBUFS before the messages queued ahead of the
        lost ones.  Those are older than the dump about to be taken; applied
        after it they would turn routes back to stale states that no later
        event corrects (that later event may be among the lost ones).
        Events queued once the socket is empty are newer than the drain, so
        applying them after the dump is right.  Bounded by ``timeout`` under
        a flood.
        """
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            try:
                buf = sock.recv(0, queued=True)
            except errors.Overrun:
                continue  # lost more: the resync below covers it too
            except OSError:
                return
            if buf is None:
                return
            self._notification_buffer(buf)

    def _deliver_firsts(self) -> None:
        with self._sub_lock:
            firsts = [s for s in self._subs if s._first is not None]
        for sub in firsts:
            sub.deliver_first()

    def _resync(self) -> None:
        """Events were lost: compare a fresh dump with the mirror and tell subscribers."""
        with self._sub_lock:
            tracking = self._mirror.lost()
            subs = list(self._subs)
        if not tracking:
            deliver_all(subs, [OVERRUN])
            return
        try:
            fresh = self._snapshot(None)
        except (errors.RtmgrError, OSError) as exc:
            if not self._stopping.is_set():
                log.error("resync after notification overrun failed: %s", exc)
                deliver_all(subs, [OVERRUN])
            return
        with self._sub_lock:
            event = self._mirror.resync(fresh)
            subs = list(self._subs)
        deliver_all(subs, [event])
