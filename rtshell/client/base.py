"""What both clients share around the core: their sockets, counters, closing."""

from __future__ import annotations

from typing import Generic, Optional

from rtshell import netlink as nl
from rtshell.client.core import Core, StreamT, closed_error
from rtshell.client.notifications import Mirror


class ClientBase(Generic[StreamT]):
    """What the threaded client and rtshell.aio's show of their core, and closing their sockets."""

    _sock: Optional[nl.NetlinkSocket] = None
    _nsock: Optional[nl.NetlinkSocket] = None
    _closed = False
    _core: Core[StreamT]
    _mirror: Mirror

    @property
    def portid(self) -> int:
        """The request socket's netlink port id (notifications carry it)."""
        assert self._sock is not None
        return self._sock.portid

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest request numbered (0 before the
        first); notifications of a change carry its number with ``portid``."""
        return self._core.seq

    @property
    def dropped(self) -> int:
        """Replies that matched no current request (late, or of abandoned dumps)."""
        return self._core.dropped

    @property
    def resyncs(self) -> int:
        """Notification overruns repaired by a resync."""
        return self._mirror.resyncs

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(None)

    def _close_sockets(self) -> None:
        for sock in (self._sock, self._nsock):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
