"""The notification subscriber, run in a process of its own.

A monitoring tool is a separate process from the one changing the table,
so the subscriber runs in a spawned child: it counts NEWROUTE events while
the parent inserts N routes, and reports how many arrived, how many
overruns (lost notifications) it saw, and when the first and last arrived
(``time.perf_counter``: CLOCK_MONOTONIC, comparable across processes).
"""

from __future__ import annotations

import multiprocessing
import struct
import time
from dataclasses import dataclass
from typing import Optional

_HDR = struct.Struct("=IH")


@dataclass(frozen=True)
class Delivery:
    events: int
    overruns: int
    first: Optional[float]
    last: Optional[float]
    error: Optional[str] = None


def _stopped(conn) -> bool:
    """Has the parent asked the subscriber to give up?"""
    return conn.poll() and conn.recv() == "stop"


def _client_subscriber(expected: int, rcvbuf: int, idle: float, conn) -> Delivery:
    from rtshell.client import Client

    state = {"events": 0, "overruns": 0, "first": None, "last": None}

    def on_event(event) -> None:
        now = time.perf_counter()
        if event.kind == "new":
            state["events"] += 1
            if state["first"] is None:
                state["first"] = now
            state["last"] = now
        elif event.kind == "overrun":
            state["overruns"] += 1

    with Client(timeout=60.0, notify_rcvbuf=rcvbuf) as client:
        sub = client.subscribe(on_event)
        conn.send("ready")
        while state["events"] < expected and not _stopped(conn):
            time.sleep(min(idle / 10, 0.5))
            last = state["last"]
            if last is not None and time.perf_counter() - last > idle:
                break  # the events stopped short of the count: some were lost
        sub.close()
    return Delivery(state["events"], state["overruns"], state["first"], state["last"])


def _raw_subscriber(expected: int, rcvbuf: int, idle: float, conn) -> Delivery:
    from rtshell import errors
    from rtshell import netlink as nl

    events = overruns = 0
    first = last = None
    with nl.NetlinkSocket(groups=nl.GROUP_ROUTE, rcvbuf=rcvbuf) as sock:
        conn.send("ready")
        while events < expected and not _stopped(conn):
            try:
                data = sock.recv(min(idle, 0.5))
            except errors.Overrun:
                overruns += 1
                continue
            if data is None:
                if last is not None and time.perf_counter() - last > idle:
                    break  # the events stopped short of the count: some were lost
                continue
            now = time.perf_counter()
            off = 0
            while off < len(data):
                length, mtype = _HDR.unpack_from(data, off)
                if mtype == nl.NEWROUTE:
                    events += 1
                off += (length + 3) & ~3
            if first is None:
                first = now
            last = now
    return Delivery(events, overruns, first, last)


def _child(kind: str, expected: int, rcvbuf: int, idle: float, conn) -> None:
    run = _client_subscriber if kind == "client" else _raw_subscriber
    try:
        result = run(expected, rcvbuf, idle, conn)
    except Exception as exc:  # reported to the parent, which shows it in the table
        result = Delivery(0, 0, None, None, f"{type(exc).__name__}: {exc}")
    conn.send(result)


class Subscriber:
    """A subscriber process: start(), then the parent changes the table, then result()."""

    def __init__(self, kind: str, expected: int, rcvbuf: int, idle: float = 10.0):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(kind, expected, rcvbuf, idle, child), daemon=True)
        self.idle = idle
        self._early: Optional[Delivery] = None  # the child failed before it was ready

    def start(self, timeout: float = 300.0) -> None:
        self._proc.start()
        if not self._conn.poll(timeout):
            self._proc.kill()
            raise TimeoutError("the subscriber process did not start")
        message = self._conn.recv()  # "ready", or the Delivery of a failure
        if isinstance(message, Delivery):
            self._early = message

    def result(self, timeout: float) -> Delivery:
        """What the subscriber counted; after ``timeout`` seconds it is told to stop."""
        try:
            if self._early is not None:
                return self._early
            if not self._conn.poll(timeout):
                self._conn.send("stop")
                if not self._conn.poll(self.idle * 2):
                    return Delivery(0, 0, None, None, "the subscriber process did not answer")
            return self._conn.recv()
        finally:
            self._proc.join(self.idle)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
