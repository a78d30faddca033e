"""What both clients do with a netlink socket around the core: flow control
from its receive buffer, tracing, parsing a receive buffer."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable, Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell.client.core import RECV, REPLY_COST

log = logging.getLogger(__name__)

#: Seconds a receive call blocks before the thread checks whether to stop.
POLL_INTERVAL = 0.2
#: Receive buffer asked for on the request socket (acks of big batches).
REQUEST_RCVBUF = 4 << 20
#: Receive buffer asked for on the notification socket: a batch of 1,024
#: changes is 1,024 notifications at once (about 1 KiB of truesize each);
#: the default (~208 KiB) overran on every such batch and each overrun
#: costs a resync dump of the whole table.
NOTIFY_RCVBUF = 8 << 20


def rcvbuf_of(sock: nl.NetlinkSocket) -> int:
    """The receive buffer the kernel actually granted a socket."""
    try:
        with socket.socket(fileno=os.dup(sock.fileno())) as s:
            return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    except (OSError, AttributeError, ValueError):
        return 212992


def window_of(sock: nl.NetlinkSocket) -> tuple[int, int]:
    """Flow control: (replies that may be outstanding, requests per sendmsg).

    The kernel answers a whole sendmsg before anything is read, so what is
    outstanding must fit the receive buffer.
    """
    window = max(16, rcvbuf_of(sock) // REPLY_COST)
    return window, max(8, window // 2)


def trace_to(trace: Optional[Callable[[str, bytes], None]], direction: str, data: bytes) -> None:
    """Hand a buffer to the client's trace callback, if any; its errors are logged."""
    if trace is not None:
        try:
            trace(direction, data)
        except Exception:
            log.exception("trace callback failed")


def parsed(trace: Optional[Callable[[str, bytes], None]],
            buf: bytes) -> Optional[list[nl.Message]]:
    """A request socket's receive buffer: traced, then parsed (None if it cannot be)."""
    trace_to(trace, RECV, buf)
    try:
        return nl.parse(buf)
    except Exception:
        log.exception("cannot parse a receive buffer")
        return None


def read_loop(sock: nl.NetlinkSocket, stopping: threading.Event, what: str,
              on_buffer: Callable[[bytes], None], on_overrun: Callable[[], None],
              before: Optional[Callable[[], None]] = None) -> None:
    """A reader thread's loop (both of the threaded client's): each receive
    buffer to ``on_buffer``, an overrun (ENOBUFS) to ``on_overrun``, until
    ``stopping`` is set; ``before`` runs ahead of each receive."""
    while not stopping.is_set():
        if before is not None:
            before()
        try:
            buf = sock.recv(POLL_INTERVAL, queued=True)
        except errors.Overrun:
            on_overrun()
            continue
        except OSError as exc:
            if stopping.is_set():
                break
            log.error("%s socket: %s", what, exc)
            time.sleep(POLL_INTERVAL)
            continue
        if buf is not None:
            on_buffer(buf)
