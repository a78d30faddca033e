"""An in-memory stand-in for rtshell.client.Client, for the shell's own tests.

It keeps the Client API's contract (docs/ARCHITECTURE.md) closely enough to
test what the shell does with it: the errors are rtshell.errors classes with
errno and kernel-style text, changes notify subscribers with this client's
port id, batches report one result per request and an atomic batch undoes
itself on failure.  It is no model of the kernel module: the kernel tier
tests the real thing.
"""

from __future__ import annotations

import collections
import errno
import ipaddress
import threading
from typing import Optional

from fake_kernel import best_match, lowest_key
from rtshell import errors
from rtshell.netlink import PackedRoute
from rtshell.model import (
    Event, Filter, LookupResult, NextHop, ResyncEvent, Route, RouteType, Stats, TableStats, sort_key,
)

DEVICES = [(1, "lo"), (2, "dummy0"), (3, "dummy1")]


def fake_devices():
    from rtshell.names import Devices

    return Devices(lambda: list(DEVICES))


class FakeSubscription:
    def __init__(self, client, callback, filter):
        self.client, self.callback, self.filter = client, callback, filter
        self.closed = False

    def close(self):
        self.closed = True
        with self.client.lock:
            if self in self.client.subs:
                self.client.subs.remove(self)


class FakeMonitor:
    def __init__(self, client, filter, resync):
        self.events = collections.deque()
        self.cv = threading.Condition()
        self.sub = client.subscribe(self._put, filter, resync=resync)
        self.client = client

    def _put(self, ev):
        with self.cv:
            self.events.append(ev)
            self.cv.notify_all()

    def __iter__(self):
        return self

    def __next__(self):
        with self.cv:
            while not self.events:
                if self.sub.closed or self.client.closed:
                    raise StopIteration
                self.cv.wait(0.05)
            ev = self.events.popleft()
        if isinstance(ev, BaseException):
            raise ev
        return ev

    def close(self):
        self.sub.close()


def _route_of(obj):
    return obj.route if isinstance(obj, PackedRoute) else obj


class FakeBatch:
    """As rtshell.client.Batch: requests queued, applied on commit; the same
    results, undo record and BatchError."""

    def __init__(self, client, atomic=False, raise_on_error=True):
        self.client, self.atomic, self.raise_on_error = client, atomic, raise_on_error
        self.ops = []
        self.results = []
        self.undone = []
        self.undo_failures = []
        self._done = False

    # a batch file's line read in C (netlink.PackedRoute) goes in as its Route
    def add(self, route):
        self.ops.append(("add", _route_of(route)))

    def replace(self, route):
        self.ops.append(("replace", _route_of(route)))

    def change(self, route):
        self.ops.append(("change", _route_of(route)))

    def append(self, route):
        self.ops.append(("append", _route_of(route)))

    def delete(self, target):
        self.ops.append(("delete", _route_of(target)))

    def flush(self, filter=None):
        self.ops.append(("flush", filter))

    def __len__(self):
        return len(self.ops)

    @property
    def failures(self):
        return [(i, e) for i, e in enumerate(self.results) if e is not None]

    def commit(self):
        if self._done:
            return self.results
        self._done = True
        c = self.client
        c.batches.append((self.atomic, [(m, o) for m, o in self.ops]))
        before = dict(c.table)
        for method, obj in self.ops:
            try:
                getattr(c, method)(obj)
                self.results.append(None)
            except errors.RtmgrError as e:
                self.results.append(e)
        if self.atomic and self.failures:
            undone = [k for k in set(before) | set(c.table) if before.get(k) != c.table.get(k)]
            c.table = before
            self.undone = [f"route {'replace' if k in before else 'delete'} {k[2]}" for k in undone]
        if self.raise_on_error and self.failures:
            raise errors.BatchError(self.results, self.failures, self.undone, self.undo_failures, self.atomic)
        return self.results

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()


class FakeClient:
    def __init__(self, routes=(), portid: int = 4242, max_routes: int = 1_000_000):
        self.lock = threading.RLock()
        self.table: dict = {r.key: r for r in routes}
        self.subs: list[FakeSubscription] = []
        self.trace = None
        self.timeout = 5.0
        self.portid = portid
        self.max_routes = max_routes
        self.closed = False
        self.calls: list[tuple] = []
        self.batches: list = []
        self.seq = 0
        self.requests = 0
        self.errors = 0
        self.pending = 0  # the fake answers at once: nothing is ever outstanding
        self.dropped = 0  # nor late
        self.resyncs = 0  # nor overruns
        self.dump_restarts = 0  # nor interrupted dumps

    # -- helpers --
    def _err(self, cls, text, what):
        self.errors += 1
        return cls(None, text, what)

    def _notify(self, ev):
        with self.lock:
            subs = list(self.subs)
        for s in subs:
            if s.filter is None or ev.route is None or s.filter.matches(ev.route):
                s.callback(ev)

    @property
    def last_seq(self) -> int:
        """As Client.last_seq: the latest change's sequence number."""
        return self.seq

    def _event(self, kind, route=None, flt=None, count=1):
        self.seq += 1
        self._notify(Event(kind=kind, route=route, filter=flt, count=count, pid=self.portid, seq=self.seq))

    def _log(self, method, *args):
        self.calls.append((method,) + args)
        self.requests += 1
        if self.trace is not None:
            self.trace("send", bytes([len(method)]) + method.encode())
            self.trace("recv", b"\x00ack")

    # -- changes --
    def add(self, route, echo=False):
        self._log("add", route)
        with self.lock:
            if route.key in self.table:
                raise self._err(errors.RouteExists, f"route {route.dst} exists in table {route.table}",
                                f"route add {route.dst}")
            if len(self.table) >= self.max_routes:
                raise self._err(errors.TableFull, "route limit reached", f"route add {route.dst}")
            self.table[route.key] = route
        self._event("new", route)
        return route if echo else None

    def replace(self, route, echo=False):
        self._log("replace", route)
        with self.lock:
            self.table[route.key] = route
        self._event("new", route)
        return route if echo else None

    def change(self, route, echo=False):
        self._log("change", route)
        with self.lock:
            if route.key not in self.table:
                raise self._err(errors.RouteNotFound, "no such route", f"route change {route.dst}")
            self.table[route.key] = route
        self._event("new", route)
        return route if echo else None

    def append(self, route, echo=False):
        self._log("append", route)
        with self.lock:
            old = self.table.get(route.key)
            if old is None:
                new = route
            else:
                hops = list(old.all_nexthops())
                for h in route.all_nexthops():
                    if any(x.gateway == h.gateway and x.oif == h.oif for x in hops):
                        raise self._err(errors.RouteExists, "next hop exists", f"route append {route.dst}")
                    hops.append(NextHop(h.gateway, h.oif, h.weight))
                new = Route(dst=old.dst, table=old.table, type=old.type, proto=old.proto,
                            metric=old.metric, nexthops=tuple(hops))
            self.table[route.key] = new
        self._event("new", new)
        return new if echo else None

    def delete(self, target, echo=False):
        if isinstance(target, Filter):
            return self.flush(target)
        self._log("delete", target)
        with self.lock:
            key = target.key if target.metric else lowest_key(self.table, target.table, target.dst)
            old = self.table.get(key)
            hops = old.all_nexthops() if old else ()
            if (old is None
                    or (target.gateway is not None and not any(h.gateway == target.gateway for h in hops))
                    or (target.oif is not None and not any(h.oif == target.oif for h in hops))
                    or (target.type and old.type != target.type)
                    or (target.proto and old.proto != target.proto)):
                raise self._err(errors.NoSuchRoute, "no matching route", f"route delete {target.dst}")
            del self.table[key]
        self._event("del", old)
        return old if echo else None

    def flush(self, filter=None):
        self._log("flush", filter)
        flt = filter or Filter()
        with self.lock:
            gone = [k for k, r in self.table.items() if flt.matches(r)]
            for k in gone:
                del self.table[k]
        if gone:
            self._event("flush", flt=filter, count=len(gone))
        return len(gone)

    # -- reads --
    def get(self, dst, table=254, metric=None):
        self._log("get", dst, table)
        with self.lock:
            key = lowest_key(self.table, table, dst) if metric is None else (table, dst.version, dst, metric)
            r = self.table.get(key) if key is not None else None
        if r is None:
            raise self._err(errors.RouteNotFound, "no route with this key", f"route get {dst}")
        return r

    def lookup_many(self, addrs, table=254):
        self._log("lookup_many", tuple(addrs), table)
        out = []
        with self.lock:
            routes = [r for r in self.table.values() if r.table == table]
        for a in addrs:
            a = ipaddress.ip_address(a)
            out.append(LookupResult(a, best_match(routes, a, table)))
        return out

    def lookup(self, addr, table=254):
        (res,) = self.lookup_many([addr], table)
        if res.route is None:
            raise self._err(errors.NoRoute, None, f"route lookup {addr}")
        return res.route

    def dump(self, filter=None, *, consistent=False):
        self._log("dump", filter)
        with self.lock:
            routes = sorted(self.table.values(), key=sort_key)
        for r in routes:
            if filter is None or filter.matches(r):
                yield r

    def stats(self, *, tables=True):
        self._log("stats")
        with self.lock:
            routes = list(self.table.values())
        per = collections.Counter((r.table, r.family) for r in routes)
        return Stats(
            routes4=sum(1 for r in routes if r.family == 4),
            routes6=sum(1 for r in routes if r.family == 6),
            tables=tuple(TableStats(t, f, n) for (t, f), n in sorted(per.items())) if tables else (),
            memory=len(routes) * 128, generation=self.seq, requests=self.requests,
            errors=self.errors, max_routes=self.max_routes, table_count=len(per))

    # -- notifications --
    def subscribe(self, callback, filter=None, *, resync=False):
        sub = FakeSubscription(self, callback, filter)
        if resync:
            with self.lock:
                routes = tuple(r for r in sorted(self.table.values(), key=sort_key)
                               if filter is None or filter.matches(r))
            callback(ResyncEvent(kind="resync", added=routes, count=len(routes), initial=True))
        with self.lock:
            self.subs.append(sub)
        return sub

    def monitor(self, filter=None, *, resync=False):
        return FakeMonitor(self, filter, resync)

    def inject(self, event):
        """Deliver an event as if it came from the kernel (another process)."""
        self._notify(event)

    def batch(self, atomic=False, raise_on_error=True):
        return FakeBatch(self, atomic, raise_on_error)

    def close(self):
        self.closed = True


def route(text_dst: str, **kw) -> Route:
    """Route('10.0.0.0/8', gateway='10.99.0.2', ...) with strings allowed."""
    if "gateway" in kw and isinstance(kw["gateway"], str):
        kw["gateway"] = ipaddress.ip_address(kw["gateway"])
    kw.setdefault("proto", 3)
    if "type" in kw and isinstance(kw["type"], str):
        kw["type"] = RouteType[kw["type"].upper()]
    return Route(dst=ipaddress.ip_network(text_dst), **kw)


def failing_factory(exc: Optional[BaseException] = None):
    def factory():
        raise exc or errors.ModuleNotLoaded(None, None, "open")
    return factory


class CliRun:
    """``rtshell ARGV`` in-process against a fake client: rc, out and err of the last run."""

    def __init__(self, client):
        self.client = client

    def __call__(self, *argv, stdin=""):
        import io

        from rtshell.cli import main

        out, err = io.StringIO(), io.StringIO()
        self.rc = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err,
                       client_factory=lambda: self.client, devices=fake_devices())
        self.out, self.err = out.getvalue(), err.getvalue()
        return self.rc
