"""The terminal: every write to it goes through here, and completes.

A terminal's file descriptor may be non-blocking: QEMU sets O_NONBLOCK on
its fds 0-2, and in a tty stdin, stdout and stderr share one open file
description, so whatever makes one non-blocking makes all of them so (the
VM's console is left that way).  A plain ``write`` then fails with EAGAIN as
soon as the terminal is slower than the shell, and rich's Console, which
writes outside prompt_toolkit's ``_blocking_io``, passes that on as
BlockingIOError.

:class:`Terminal` writes with ``os.write`` and, when the terminal is full,
waits in ``poll`` for POLLOUT and writes the rest: a write that would block
waits, whatever the flag says, and the flag is never changed (the open file
description is shared with the parent shell, which keeps its own habits).
A terminal that is gone (EPIPE, EIO, a hang-up) is said once to the
listeners of :meth:`Terminal.on_gone`; from then on writes are dropped, so
no write anywhere raises for it: the REPL ends quietly.

rich's Console, prompt_toolkit's Vt100_Output and the printer above the
prompt all take a :class:`TerminalFile` as their file.
"""

from __future__ import annotations

import errno
import locale
import os
import select
import threading
from typing import Any, Callable, Optional

# what a write to a terminal that is no longer there fails with
GONE = frozenset({errno.EPIPE, errno.EIO, errno.ENXIO, errno.EBADF, errno.ENOTCONN})
WAIT_MS = 1000  # poll at most this long before trying the write again


class ReaderGone(KeyboardInterrupt):
    """Whoever read the output stopped reading (q in the pager): the command
    stops where it is, as at a Ctrl-C, and nothing more is said."""


class Terminal:
    """One terminal: a lock that keeps each write whole, and its end."""

    def __init__(self, out_fd: int = 1, err_fd: Optional[int] = 2, encoding: Optional[str] = None):
        """err_fd: the fd of stderr when it is this terminal too, else None."""
        self.encoding = encoding or locale.getpreferredencoding(False) or "utf-8"
        self._lock = threading.Lock()
        self._gone = threading.Event()
        self._listeners: list[Callable[[], None]] = []
        self.out = TerminalFile(self, out_fd)
        self.err = TerminalFile(self, err_fd) if err_fd is not None else None

    @classmethod
    def of(cls, stdout: Any, stderr: Any) -> Optional["Terminal"]:
        """The terminal behind stdout (stderr too when it is a terminal), or
        None when stdout is no terminal (a pipe, a file, a StringIO)."""
        out_fd, err_fd = _tty_fd(stdout), _tty_fd(stderr)
        if out_fd is None:
            return None
        for f in (stdout, stderr):  # what Python buffered before goes out first
            try:
                f.flush()
            except (OSError, ValueError, AttributeError):
                pass
        return cls(out_fd, err_fd, getattr(stdout, "encoding", None))

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    def on_gone(self, listener: Callable[[], None]) -> None:
        """Call listener (on whichever thread found out) when the terminal goes."""
        self._listeners.append(listener)

    def hang_up(self) -> None:
        """The terminal is gone (a failed write, or SIGHUP): tell the listeners once."""
        with self._lock:
            if self._gone.is_set():
                return
            self._gone.set()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener must not turn the end into a crash
                pass

    def write(self, fd: int, data: bytes) -> None:
        """Write all of data, waiting while the terminal is full."""
        if self.gone:
            return
        with self._lock:
            view = memoryview(data)
            while view and not self._gone.is_set():
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    _wait_writable(fd)
                    continue
                except OSError as exc:
                    if exc.errno not in GONE:
                        raise
                    break
                view = view[n:]
            else:
                return
        self.hang_up()


def _tty_fd(f: Any) -> Optional[int]:
    try:
        fd = f.fileno()
        return fd if os.isatty(fd) else None
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is a ValueError
        return None


def _wait_writable(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll(WAIT_MS)  # POLLHUP/POLLERR wake it too: the next write says what happened


class TerminalFile:
    """A text file over one of the terminal's fds, unbuffered: each write is
    whole on the terminal when it returns."""

    def __init__(self, terminal: Terminal, fd: int):
        self.terminal = terminal
        self.fd = fd

    @property
    def encoding(self) -> str:
        return self.terminal.encoding

    errors = "replace"
    closed = False

    def write(self, text: str) -> int:
        self.terminal.write(self.fd, text.encode(self.terminal.encoding, "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        try:
            return os.isatty(self.fd)
        except OSError:
            return False

    def writable(self) -> bool:
        return True
