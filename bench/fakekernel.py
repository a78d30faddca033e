"""An in-process stand-in for rtmgr's socket that answers at once (no kernel cost).

For :mod:`bench.host`: with a kernel that costs nothing, the time
``Client.batch()`` takes is the client's own per-route cost (building the
requests, the sender and receiver threads, reading the answers) -- the
ceiling of the insert benchmark on this machine.
"""

from __future__ import annotations

import collections
import struct
import threading
from typing import Optional

from rtshell import protocol as P

_NLMSG = struct.Struct("=IHHII")
_ACK_LEN = 16 + 4 + 16  # header, error 0, the request's header (capped ACK)


class AckingSocket:
    """The NetlinkSocket interface the client uses: send, recv, close, portid, fileno."""

    portid = 4242
    DATAGRAM = 64 * 1024

    def __init__(self, groups: int = 0, rcvbuf: Optional[int] = None):
        self._queue: collections.deque[bytes] = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self.requests = 0

    def fileno(self) -> int:
        return -1

    def send(self, data) -> int:
        data = bytes(data)
        acks = []
        off = 0
        while off < len(data):
            length, _mtype, flags, seq, _pid = _NLMSG.unpack_from(data, off)
            if flags & P.NLM_F_ACK:
                acks.append(_NLMSG.pack(_ACK_LEN, P.NLMSG_ERROR, 0x100, seq, self.portid)
                            + struct.pack("=i", 0) + data[off:off + 16])
            off += (length + 3) & ~3
            self.requests += 1
        per = self.DATAGRAM // _ACK_LEN
        with self._cv:
            for i in range(0, len(acks), per):
                self._queue.append(b"".join(acks[i:i + per]))
            self._cv.notify_all()
        return len(data)

    def recv(self, timeout: Optional[float] = None, queued: bool = False) -> Optional[bytes]:
        with self._cv:
            if not self._queue and not self._closed:
                self._cv.wait(timeout)
            if not self._queue:
                return None
            return self._queue.popleft()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
