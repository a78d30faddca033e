"""Notifications: subscriptions, the monitor iterator, and the mirror of the
table kept for resync after an overrun (no I/O; each client feeds them)."""

from __future__ import annotations

import collections
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Protocol, overload

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.client.core import Key, monitor_lost
from rtshell.model import Event, Filter, ResyncEvent, Route
from rtshell.client.sockets import POLL_INTERVAL

if TYPE_CHECKING:
    from rtshell.client.threaded import Client

log = logging.getLogger(__name__)

#: Events a monitor() iterator buffers before it reports an overrun.
MONITOR_DEPTH = 1 << 16

OVERRUN = Event(kind="overrun", count=0)  # notifications were lost, nothing more is known



class Subscriber(Protocol):
    """A client, as a subscription sees it (either client): what ``close()`` tells."""

    def _unsubscribe(self, sub: Subscription) -> None: ...


class Mirror:
    """The table as the notifications tell it, kept while a subscriber asked
    for ``resync=True`` (no I/O; the threaded client holds its _sub_lock).

    Built from a dump taken with the notification socket already joined:
    events that arrive meanwhile go to a backlog applied to the dump
    afterwards (applying an event the dump already reflects changes
    nothing); a notification overrun during the dump makes the backlog
    incomplete (``stale``): the dump is then taken again.
    """

    def __init__(self) -> None:
        self.model: Optional[dict[Key, Route]] = None
        self.backlog: Optional[list[Event]] = None  # events while the model is built
        self.stale = False  # the backlog missed events (overrun)
        self.resyncs = 0  # notification overruns repaired

    @property
    def building(self) -> bool:
        return self.model is None and self.backlog is not None

    def begin(self) -> None:
        """A dump for the model is about to be taken."""
        self.backlog = []
        self.stale = False

    def end(self, routes: Optional[list[Route]]) -> None:
        """That dump's routes (None: it failed): the model, unless events were lost meanwhile."""
        backlog, self.backlog = self.backlog, None
        if routes is not None and not self.stale:
            model = {r.key: r for r in routes}
            for event in backlog or ():
                event.apply_to(model)
            self.model = model

    def apply(self, events: list[Event]) -> None:
        if self.backlog is not None:
            self.backlog.extend(events)
        if self.model is not None:
            for event in events:
                event.apply_to(self.model)

    def first(self) -> ResyncEvent:
        """The first event of a new resync subscriber: every route."""
        model = self.model if self.model is not None else {}
        return ResyncEvent(kind="resync", added=tuple(model.values()), initial=True,
                           count=len(model))

    def release(self, subs: Iterable[Subscription]) -> None:
        """Subscribers changed: drop the model when none wants resync."""
        if not any(s.resync for s in subs) and self.backlog is None:
            self.model = None

    def lost(self) -> bool:
        """Notifications were lost.  True when a model is kept (then resync)."""
        if self.backlog is not None:
            self.stale = True  # a model being built missed events
        return self.model is not None

    def resync(self, routes: list[Route]) -> ResyncEvent:
        """A fresh dump after lost notifications: what changed, and the new model."""
        fresh = {r.key: r for r in routes}
        old = self.model if self.model is not None else {}
        added = tuple(r for k, r in fresh.items() if k not in old)
        removed = tuple(r for k, r in old.items() if k not in fresh)
        changed = tuple(r for k, r in fresh.items() if k in old and not same_route(old[k], r))
        if self.model is not None:
            self.model = fresh
        self.resyncs += 1
        return ResyncEvent(kind="resync", added=added, removed=removed, changed=changed,
                           count=len(added) + len(removed) + len(changed))



# --------------------------------------------------------------------------
# Subscriptions


class Subscription:
    """A registered notification callback; ``close()`` (or ``with``) ends it."""

    def __init__(self, client: Subscriber, callback: Callable[[Event], None],
                 filter: Optional[Filter], resync: bool) -> None:
        self._client = client
        self.callback = callback
        self.filter = filter
        self.resync = resync
        self.closed = False
        self.errors = 0  # exceptions raised by the callback (logged, not fatal)
        self._first: Optional[ResyncEvent] = None  # initial event, delivered by the notifier

    @overload
    def wants(self, event: ResyncEvent) -> ResyncEvent: ...
    @overload
    def wants(self, event: Event) -> Optional[Event]: ...

    def wants(self, event: Event) -> Optional[Event]:
        """The event as this subscriber should see it (filtered), or None."""
        flt = self.filter
        if flt is None:
            return event
        if isinstance(event, ResyncEvent):
            added = tuple(r for r in event.added if flt.matches(r))
            removed = tuple(r for r in event.removed if flt.matches(r))
            changed = tuple(r for r in event.changed if flt.matches(r))
            return ResyncEvent(kind=event.kind, added=added, removed=removed, changed=changed,
                               initial=event.initial,
                               count=len(added) + len(removed) + len(changed))
        if event.route is not None:
            return event if flt.matches(event.route) else None
        return event

    def deliver(self, event: Event, initial: bool = False) -> None:
        """Call the callback with ``event`` as this subscriber sees it (the
        initial event, if still due, first).  Its exceptions are logged and counted."""
        if self.closed:
            return
        if self._first is not None and not initial:
            self.deliver_first()
        shown = self.wants(event)
        if shown is None:
            return
        try:
            self.callback(shown)
        except Exception:
            self.errors += 1
            log.exception("notification callback %r failed", self.callback)

    def deliver_first(self) -> None:
        """Deliver the initial event of a ``resync=True`` subscriber, if still due."""
        first, self._first = self._first, None
        if first is not None:
            self.deliver(first, initial=True)

    def close(self) -> None:
        """Stop delivery.  Idempotent; callable from the callback itself."""
        if not self.closed:
            self.closed = True
            self._client._unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Monitor:
    """The iterator of :meth:`Client.monitor`: events through a bounded queue.

    The subscription holds the monitor only weakly: a monitor dropped
    without ``close()`` is collected and unsubscribes itself.
    """

    def __init__(self, client: Client, filter: Optional[Filter], resync: bool, depth: int) -> None:
        self._client = client
        self._cv = threading.Condition()
        self._events: collections.deque[Event] = collections.deque()
        self._depth = depth
        self._lost = 0
        ref = weakref.ref(self)

        def deliver(event: Event) -> None:
            monitor = ref()
            if monitor is not None:
                monitor._put(event)

        self._sub = client.subscribe(deliver, filter, resync=resync)

    def _put(self, event: Event) -> None:
        with self._cv:
            if len(self._events) >= self._depth:
                self._lost += 1
            else:
                self._events.append(event)
            self._cv.notify_all()

    def __iter__(self) -> "Monitor":
        return self

    def __next__(self) -> Event:
        with self._cv:
            while not self._events:
                if self._lost:
                    lost, self._lost = self._lost, 0
                    raise monitor_lost(lost)
                if self._sub.closed or self._client.closed:
                    raise StopIteration
                self._cv.wait(POLL_INTERVAL)
            return self._events.popleft()

    def close(self) -> None:
        self._sub.close()
        with self._cv:
            self._cv.notify_all()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._sub.close()
        except Exception:
            pass



def events_in(buf: bytes) -> list[Event]:
    """The events of a notification buffer (none if it cannot be parsed)."""
    try:
        return [e for e in map(event_of, nl.parse(buf)) if e is not None]
    except Exception:
        log.exception("cannot parse a notification buffer")
        return []


def deliver_all(subs: Iterable[Subscription], events: list[Event]) -> None:
    for event in events:
        for sub in subs:
            sub.deliver(event)



def same_route(a: Route, b: Route) -> bool:
    """Equal value and not rewritten since (a replace with the same value counts)."""
    return a == b and a.changed == b.changed


def event_of(m: nl.Message) -> Optional[Event]:
    """A notification message as an Event (None for anything else)."""
    if m.kind == "route" and m.route is not None:
        kind = "new" if m.type == P.RTMGR_MSG_NEWROUTE else "del"
        return Event(kind=kind, route=m.route, pid=m.pid, seq=m.seq, time=time.time())
    if m.kind == "flush":
        return Event(kind="flush", filter=m.filter, count=int(m.count or 0), pid=m.pid, seq=m.seq,
                     time=time.time())
    return None
