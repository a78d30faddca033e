"""Plans: what each call of the client asks, and how it reads the answers.

A plan is a generator: it yields steps, gets each step's outcome back, and
returns the call's result.  A step names the client method performing it;
:meth:`rtshell.client.threaded.Client._drive` runs plans on that client's
threads, ``rtshell.aio.Client._drive`` on an event loop.  A step that fails
ends the plan with its error.  No I/O happens here.
"""

from __future__ import annotations

import collections
import errno as _errno
import functools
from dataclasses import replace
from ipaddress import ip_address, ip_network
from typing import Any, Callable, Iterable, Optional, Union

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.client.core import (Address, AnyPending, Item, Key, Op, Plan, Request, Step,
                                 DUMP_ATTEMPTS, lookup_of, make_error, unpacked)
from rtshell.model import Filter, LookupResult, Match, Network, Route, Stats


def ask(op: Op, build: Callable[[int], bytes], multi: bool = False) -> Step:
    """Step: one request, answered in full; the outcome is its Pending (replies)."""
    return ("_call", op, build, multi)


def ask_all(items: list[Request]) -> Step:
    """Step: requests ``(op, build, False)``; the outcome is their Pendings,
    each answered or failed (not raised)."""
    return ("_call_all", items)


def wait(records: list[AnyPending]) -> Step:
    """Step: wait until each record (already sent) is answered or failed."""
    return ("_wait_all", records)


def collect(filter: Optional[Filter]) -> Step:
    """Step: one uninterrupted dump; the outcome is its list of routes."""
    return ("_snapshot", filter)


def change_plan(verb: str, route: Route, echo: bool = False) -> Plan[Optional[Route]]:
    msg_type, flags = nl.VERB_FLAGS[verb]
    if echo:
        flags |= P.NLM_F_ECHO
    p: AnyPending = yield ask(Op(verb, route),
                                lambda seq: nl.build_route(msg_type, flags, seq, route))
    if not echo:
        return None
    routes = [m.route for m in p.replies if m.route is not None]
    return routes[-1] if routes else None


def delete_plan(target: Union[Route, Filter], echo: bool = False) -> Plan[Union[Route, int, None]]:
    if isinstance(target, Filter):
        return (yield from flush_plan(target))
    return (yield from change_plan("delete", target, echo))


def get_plan(dst: Union[Network, str], table: int, metric: Optional[int] = None) -> Plan[Route]:
    prefix = network(dst)
    op = Op("get", prefix, table)
    p: AnyPending = yield ask(op, lambda seq: nl.build_get(seq, prefix, table, metric=metric))
    for m in p.replies:
        if m.route is not None:
            return m.route
    raise make_error(_errno.EBADMSG, "no route in the answer", op)


def lookup_plan(addr: Union[Address, str], table: int) -> Plan[Route]:
    address = ip_address(addr)
    op = Op("lookup", address, table)
    p: AnyPending = yield ask(op, lambda seq: nl.build_lookup(seq, address, table))
    for m in p.replies:
        res = lookup_of(m)
        if res is not None:
            if res.route is None:
                raise make_error(_errno.ENETUNREACH, None, op)
            return res.route
    raise make_error(_errno.EBADMSG, "no lookup answer", op)


def lookup_many_plan(addrs: Iterable[Union[Address, str]],
                      table: int) -> Plan[list[LookupResult]]:
    wanted = [ip_address(a) for a in addrs]
    results: list[Optional[LookupResult]] = [None] * len(wanted)
    limit = P.RTMGR_MAX_LOOKUP_ADDRS
    for version in (4, 6):
        idx = [i for i, a in enumerate(wanted) if a.version == version]
        for start in range(0, len(idx), limit):
            part = idx[start:start + limit]
            chunk = [wanted[i] for i in part]
            op = Op("lookup-many", chunk, table)
            p: AnyPending = yield ask(
                op, functools.partial(nl.build_lookup_many, addrs=chunk, table=table), multi=True)
            answers = [r for r in (lookup_of(m) for m in p.replies) if r is not None]
            if len(answers) != len(chunk):
                raise make_error(_errno.EBADMSG,
                                  f"{len(answers)} answers for {len(chunk)} addresses", op)
            for i, res in zip(part, answers):
                if res.addr != wanted[i]:
                    raise make_error(_errno.EBADMSG,
                                      f"answer for {res.addr} where {wanted[i]} was asked", op)
                results[i] = res
    # every address has its answer by now (or an error was raised)
    return [res for res in results if res is not None]


def flush_plan(filter: Optional[Filter]) -> Plan[int]:
    op = Op("flush", filter)
    p: AnyPending = yield ask(op, lambda seq: nl.build_flush(seq, filter, True))
    for m in p.replies:
        if m.kind == "flush" and m.count is not None:
            return m.count
    raise make_error(_errno.EBADMSG, "no count in the answer", op)


def stats_plan(tables: bool = True) -> Plan[Stats]:
    op = Op("stats")
    if not tables:
        p: AnyPending = yield ask(op, nl.build_stats)
        for m in p.replies:
            if m.stats is not None:
                return m.stats
        raise make_error(_errno.EBADMSG, "no statistics in the answer", op)
    for _ in range(DUMP_ATTEMPTS):
        p = yield ask(op, lambda seq: nl.build_stats(seq, tables=True), multi=True)
        parts = [m.stats for m in p.replies if m.stats is not None]
        if not parts:
            raise make_error(_errno.EBADMSG, "no statistics in the answer", op)
        if not any(m.dump_intr for m in p.replies):
            break
    # the totals come first, then one (table, family) per message
    rows = tuple(t for s in parts[1:] for t in s.tables)
    return replace(parts[0], tables=rows)



def dump_request(filter: Optional[Filter]) -> Request:
    """A dump's one request; each client sends it on a socket (or slot) of its
    own and reads it through a DumpReader, so it has no plan."""
    return (Op("show", filter), lambda seq: nl.build_dump(seq, filter), True)


#: The verb table: the plan each call of the API runs.  ``Client.add(route)``
#: drives ``PLANS["add"](route)`` (both clients), and ``explain`` builds its
#: bytes from the same plans (:func:`first_request`).
PLANS: dict[str, Callable[..., Plan[Any]]] = {
    "add": functools.partial(change_plan, "add"),
    "replace": functools.partial(change_plan, "replace"),
    "change": functools.partial(change_plan, "change"),
    "append": functools.partial(change_plan, "append"),
    "delete": delete_plan,
    "get": get_plan,
    "lookup": lookup_plan,
    "lookup_many": lookup_many_plan,
    "flush": flush_plan,
    "stats": stats_plan,
}


def first_request(verb: str, *args: Any, **kwargs: Any) -> Request:
    """The first request ``Client.<verb>(*args, **kwargs)`` sends, built but
    not sent: what ``explain`` shows is what the call sends."""
    if verb == "dump":
        kwargs.pop("consistent", None)
        return dump_request(*args, **kwargs)
    plan = PLANS[verb](*args, **kwargs)
    try:
        step = next(plan)
    finally:
        plan.close()
    if step[0] == "_call":
        return (step[1], step[2], step[3])
    if step[0] == "_call_all":
        first: Request = step[1][0]
        return first
    raise ValueError(f"{verb} sends no request first: its plan starts with {step[0]}")


def batch_snapshot_plan(
        ops: list[Item]) -> Plan[tuple[dict[Key, Optional[Route]], dict[int, list[Key]]]]:
    """Plan: what each request of an atomic batch may overwrite.

    Returns (before, touched): ``before[key]`` is the route the key held
    (None: absent); ``touched[i]`` the keys request i may change.  The
    gets are pipelined like a batch.
    """
    before: dict[Key, Optional[Route]] = {}
    touched: dict[int, list[Key]] = {}
    unknown: list[Key] = []
    # An add that succeeds proves its key was absent, one that fails changed
    # nothing: a bulk load of new routes reads nothing, and its undo deletes
    # what it added (batch._undo finds their keys only then).
    if all(item[0] == "add" for item in ops):
        return before, touched
    # Otherwise a key that only one add touches needs no read either
    # (unless a flush of the same batch may touch it).
    items = [unpacked(item) for item in ops]
    uses = collections.Counter(item[1].key for item in items if item[0] != "flush")
    flushes = any(verb == "flush" for verb, _obj in items)
    for i, item in enumerate(items):
        if item[0] == "delete" and item[1].metric == 0:
            # without a metric the kernel deletes the prefix's lowest: every
            # metric of the prefix may be the one
            route = item[1]
            found: list[Route] = yield collect(Filter(prefix=route.dst, match=Match.EXACT, table=route.table))
            metrics = [r for r in found if r.dst == route.dst and r.table == route.table]
            touched[i] = [r.key for r in metrics] or [route.key]
            for r in metrics:
                before.setdefault(r.key, r)
            before.setdefault(route.key, None)
        elif item[0] != "flush":
            verb, route = item
            touched[i] = [route.key]
            if route.key not in before:
                before[route.key] = None
                if flushes or verb != "add" or uses[route.key] > 1:
                    unknown.append(route.key)
        else:
            routes: list[Route] = yield collect(item[1])
            touched[i] = [r.key for r in routes]
            for r in routes:
                before.setdefault(r.key, r)
    unknown = [k for k in unknown if before[k] is None]
    if not unknown:
        return before, touched
    gets: list[Request] = [
        (Op("get", dst, table), functools.partial(nl.build_get, dst=dst, table=table, metric=metric), False)
        for (table, _family, dst, metric) in unknown]
    pendings: list[AnyPending] = yield ask_all(gets)
    for key, p in zip(unknown, pendings):
        if p.error is None:
            routes = [m.route for m in p.replies if m.route is not None]
            before[key] = routes[-1] if routes else None
        elif p.error.errno != _errno.ENOENT:
            raise p.error
    return before, touched



def network(dst: Union[Network, str]) -> Network:
    """A prefix given as text or as an ipaddress network."""
    return ip_network(dst) if isinstance(dst, str) else dst


