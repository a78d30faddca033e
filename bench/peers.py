"""The peers: iproute2's ``ip`` and pyroute2, both against the kernel FIB.

Everything goes to table 100 through dummy0 (see bench.routes).  A rule
sends lookups of 10.0.0.0/10 to table 100, so ``ip route get`` and
pyroute2's ``route('get')`` walk a table holding the same N routes as
rtmgr's table 100.
"""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

from bench.routes import BLOCK, TABLE
from rtshell import protocol as P

RULE = ["to", str(BLOCK), "lookup", str(TABLE), "pref", "1000"]
_NLMSG = struct.Struct("=IHHII")
_NLMSG_ERROR = P.NLMSG_ERROR
_SO_RCVBUFFORCE = 33
_NO_TABLE = "table does not exist"


def _ip(*args: str, stdout=subprocess.DEVNULL, tolerate: str = "") -> subprocess.CompletedProcess:
    """Run ip; a failure raises with ip's message, unless the message contains ``tolerate``."""
    done = subprocess.run(["ip", *args], stdout=stdout, stderr=subprocess.PIPE, text=True)
    if done.returncode and not (tolerate and tolerate in done.stderr):
        raise RuntimeError(f"ip {' '.join(args)}: exit status {done.returncode}: {done.stderr.strip()}")
    return done


class Ip:
    """iproute2 as a subprocess, as a user would run it."""

    @staticmethod
    def version() -> str:
        return _ip("-V", stdout=subprocess.PIPE).stdout.strip()

    @staticmethod
    def add_rule() -> None:
        _ip("rule", "add", *RULE)

    @staticmethod
    def del_rule() -> None:
        subprocess.run(["ip", "rule", "del", *RULE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def batch(path: Path) -> None:
        _ip("-batch", str(path))

    @staticmethod
    def show() -> None:
        """``ip route show table 100``, output to /dev/null."""
        _ip("route", "show", "table", str(TABLE))

    @staticmethod
    def count() -> int:
        """Routes in table 100 (output read through a pipe: not timed)."""
        done = _ip("-o", "route", "show", "table", str(TABLE), stdout=subprocess.PIPE, tolerate=_NO_TABLE)
        return len(done.stdout.splitlines())

    @staticmethod
    def flush() -> None:
        """``ip route flush table 100`` (a table that was never created is empty)."""
        _ip("route", "flush", "table", str(TABLE), tolerate=_NO_TABLE)

    @staticmethod
    def get(addr: str) -> None:
        _ip("route", "get", addr)


class Pyroute2:
    """pyroute2's synchronous IPRoute, and its IPBatch request compiler."""

    #: requests per sendmsg when sending an IPBatch buffer
    BATCH_MESSAGES = 256

    def __init__(self, oif: int):
        from pyroute2 import IPBatch, IPRoute

        self.oif = oif
        self.ipr = IPRoute()
        self.compiler = IPBatch()
        self.raw = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        # every ACK of a sendmsg is queued before it is read
        self.raw.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 8 << 20)
        self.raw.bind((0, 0))

    @staticmethod
    def version() -> str:
        import pyroute2

        return getattr(pyroute2, "__version__", "unknown")

    def close(self) -> None:
        self.raw.close()
        self.compiler.close()
        self.ipr.close()

    def add_each(self, prefixes: list[str]) -> None:
        """One ``route('add')`` per route: a request, then its ACK."""
        route, oif = self.ipr.route, self.oif
        for dst in prefixes:
            route("add", dst=dst, oif=oif, table=TABLE)

    def add_batch(self, prefixes: list[str]) -> None:
        """IPBatch compiles the requests; they go BATCH_MESSAGES per sendmsg.

        The ACKs of each sendmsg are read (and checked) before the next one.
        """
        self.compiler.reset()
        route, oif = self.compiler.route, self.oif
        for dst in prefixes:
            route("add", dst=dst, oif=oif, table=TABLE)
        data = bytes(self.compiler.batch)
        self.compiler.reset()
        self._send_acked(data)

    def _send_acked(self, data: bytes) -> None:
        bounds = []  # message start offsets
        off = 0
        while off < len(data):
            bounds.append(off)
            off += (_NLMSG.unpack_from(data, off)[0] + 3) & ~3
        bounds.append(len(data))
        failed = 0
        for i in range(0, len(bounds) - 1, self.BATCH_MESSAGES):
            j = min(i + self.BATCH_MESSAGES, len(bounds) - 1)
            self.raw.send(data[bounds[i]:bounds[j]])
            failed += self._read_acks(j - i)
        if failed:
            raise OSError(f"pyroute2 batch: {failed} requests failed")

    def _read_acks(self, expected: int) -> int:
        failed = 0
        while expected:
            buf = self.raw.recv(1 << 20)
            off = 0
            while off < len(buf):
                length, mtype = _NLMSG.unpack_from(buf, off)[:2]
                if mtype == _NLMSG_ERROR:
                    expected -= 1
                    if struct.unpack_from("=i", buf, off + 16)[0]:
                        failed += 1
                off += (length + 3) & ~3
        return failed

    def dump(self) -> list:
        """``get_routes(table=100)`` materialised: pyroute2 message objects."""
        return list(self.ipr.get_routes(table=TABLE))

    #: flush_routes calls before giving up on an emptying table
    FLUSH_CALLS = 10

    def flush(self) -> int:
        """``flush_routes(table=100)`` (a dump, then one delete per route) until it
        finds nothing left; the count of routes it removed.

        One call has been seen to leave part of the table behind under
        emulation, so it is called again while it still finds routes; the time
        of every call counts.
        """
        total = 0
        for _ in range(self.FLUSH_CALLS):
            removed = len(self.ipr.flush_routes(table=TABLE))
            if not removed:
                break
            total += removed
        return total

    def get(self, addr: str) -> None:
        self.ipr.route("get", dst=addr)
