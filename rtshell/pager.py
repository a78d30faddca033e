"""Output longer than the screen, through a pager (vtysh's VTYSH_PAGER habit).

In the interactive shell a command that may print much (``route show``,
``lookup``, ``help``, ``diff``...) writes into a :class:`PagedFile`.  Until
its text fills the screen it is only kept; if the command ends first it is
written as it was, so short answers never meet a pager.  Once it is more
than a screen the pager starts and everything goes to it as the command
produces it: the first screen of a million-route ``route show`` appears at
once and no part of the table is held as text.

The pager is ``$RTSHELL_PAGER``, else ``$PAGER``, else ``less`` (with
``LESS=FRX`` unless ``LESS`` is set, as git does), else a built-in one
(``--More--``: space a page, Enter a line, q to stop).  ``cat`` means no
pager; so does ``terminal no paginate``.  A non-blocking terminal (QEMU's
console) gets the same: less opens the terminal afresh for its keys, and
takes a fresh, blocking descriptor of it for its screen.

Leaving the pager (q) stops the command where it is, quietly
(:class:`ReaderGone`).  Ctrl-C stops the command; the pager shows what it
got until q, as under git.
While a pager has the screen, whatever else would be written to the
terminal (errors, warnings, notifications) is held and written after it.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from typing import Iterator, Mapping, Optional

from rtshell.terminal import ReaderGone

BUILTIN = "builtin"  # $RTSHELL_PAGER=builtin: the --More-- pager, even where less exists
NO_PAGER = frozenset({"", "cat"})
MORE = "\x1b[7m--More--\x1b[0m (space: a page, Enter: a line, q: stop)"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def pager_command(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The pager to run: a shell command, BUILTIN, or None for none."""
    env = os.environ if env is None else env
    for name in ("RTSHELL_PAGER", "PAGER"):
        value = env.get(name)
        if value is not None:
            value = value.strip()
            if value in NO_PAGER:
                return None
            if value == BUILTIN:
                return BUILTIN
            try:
                program = shlex.split(value)[0]
            except (ValueError, IndexError):
                continue
            if shutil.which(program):
                return value
    return "less" if shutil.which("less") else BUILTIN


class Pager:
    """The interactive shell's pager: which one, and whether it is on."""

    def __init__(self, out, keys_fd: Optional[int] = None, command: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None):
        """out: the terminal's output file (it has fileno()); keys_fd: where
        the built-in pager reads its keys (stdin's terminal)."""
        self.out = out
        self.keys_fd = keys_fd
        self.command = pager_command(env) if command is None else command
        self.on = self.command is not None

    def rows(self) -> int:
        try:
            return max(2, os.get_terminal_size(self.out.fileno()).lines)
        except (OSError, ValueError, AttributeError):
            return 24

    def columns(self) -> int:
        try:
            return max(1, os.get_terminal_size(self.out.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            return 80

    @contextlib.contextmanager
    def around(self, ex) -> Iterator["PagedFile"]:
        """Run one command of ``ex`` (an Executor) with its output paged."""
        base = ex.output
        screen = PagedFile(self)
        base.held.start()
        ex.output = base.over(screen)
        try:
            with _CtrlC(screen.interrupt):
                try:
                    yield screen
                finally:
                    ex.output = base
                    screen.close()
        finally:
            for fn, args in base.held.stop():
                fn(*args)


class _CtrlC:
    """On Ctrl-C (SIGINT in the main thread) tells ``pressed``, then raises
    KeyboardInterrupt as Python would."""

    def __init__(self, pressed):
        self.pressed = pressed
        self._before = None

    def _on_sigint(self, signum, frame) -> None:
        self.pressed()
        raise KeyboardInterrupt

    def __enter__(self) -> "_CtrlC":
        if threading.current_thread() is threading.main_thread():
            self._before = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._before is not None:
            signal.signal(signal.SIGINT, self._before)


class PagedFile:
    """What one command writes: kept until it is more than a screen, then
    streamed to the pager."""

    def __init__(self, pager: Pager):
        self.pager = pager
        self.out = pager.out
        self.encoding = getattr(self.out, "encoding", None) or "utf-8"
        self._rows = pager.rows() - 1  # the last row for the pager's own prompt
        self._columns = pager.columns()
        self._kept: list[str] = []
        self._used = 0  # screen rows the kept text fills
        self._proc: Optional[subprocess.Popen] = None
        self._pipe: Optional[int] = None
        self._builtin = False
        self._left = 0  # the built-in pager: rows until it asks again
        self._part = ""  # the built-in pager: the line begun
        # why nothing more is shown: 'q' (the reader left), 'ctrl-c'; the
        # first write after q raises ReaderGone to stop the command, the
        # others are dropped
        self.ended: Optional[str] = None
        self._told = False

    errors = "replace"
    closed = False

    def fileno(self) -> int:
        return self.out.fileno()

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def started(self) -> bool:
        return self._proc is not None or self._builtin

    def write(self, text: str) -> int:
        if self.ended is not None:
            if not self._told:
                self._told = True
                raise ReaderGone() if self.ended == "q" else KeyboardInterrupt()
            return len(text)
        if self._pipe is not None:
            self._send(text)
        elif self._builtin:
            self._more(text)
        else:
            self._kept.append(text)
            self._used += self._screen_rows(text)
            if self._used > self._rows:
                self._start()
        return len(text)

    def _screen_rows(self, text: str) -> int:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        cols = self._columns
        return sum(1 + max(0, len(_ANSI.sub("", line)) - 1) // cols for line in lines)

    # -- starting --

    def _start(self) -> None:
        kept, self._kept = "".join(self._kept), []
        command = self.pager.command
        if command != BUILTIN:
            try:
                self._spawn(command)
            except OSError:
                self._proc = None
        if self._proc is None:
            self._builtin = True
            self._left = self._rows
            self._more(kept)
        else:
            self._send(kept)

    def _spawn(self, command: str) -> None:
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")  # colours as they are; no screen clearing
        env.setdefault("LV", "-c")
        # the pager writes to a fresh, blocking descriptor of the terminal:
        # the shell's own may be non-blocking (QEMU's console)
        try:
            screen = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
        except OSError:
            screen = None
        try:
            # exec: the shell becomes the pager, so that Ctrl-C's SIGTERM reaches it
            self._proc = subprocess.Popen(["/bin/sh", "-c", "exec " + command], stdin=subprocess.PIPE,
                                          stdout=screen if screen is not None else self.out.fileno(),
                                          env=env)
        finally:
            if screen is not None:
                os.close(screen)
        self._pipe = self._proc.stdin.fileno()

    def _send(self, text: str) -> None:
        view = memoryview(text.encode(self.encoding, "replace"))
        while view:
            try:
                n = os.write(self._pipe, view)
            except BrokenPipeError:
                self.ended = self.ended or "q"
                self._told = True
                raise ReaderGone() if self.ended == "q" else KeyboardInterrupt() from None
            view = view[n:]

    # -- the built-in pager --

    def _more(self, text: str) -> None:
        lines = (self._part + text).split("\n")
        self._part = lines.pop()
        for line in lines:
            if self._left <= 0:
                self._ask()
            self.out.write(line + "\n")
            self._left -= self._screen_rows(line + "\n")

    def _ask(self) -> None:
        self.out.write(MORE)
        try:
            key = read_key(self.pager.keys_fd)
        finally:
            self.out.write("\r\x1b[K")
        if key in (b"q", b"Q", b"\x04", b""):
            self.ended = "q"
            self._told = True
            raise ReaderGone()
        self._left = 1 if key in (b"\r", b"\n", b"j") else self._rows

    # -- the end --

    def interrupt(self) -> None:
        """Ctrl-C (from the SIGINT handler): the command stops (the handler
        raises) and writes nothing more.  The pager stays, showing what it
        got, until the reader leaves it, as under git."""
        self.ended = self.ended or "ctrl-c"
        self._told = True

    def close(self) -> None:
        """The command is over: short text is written as it is; the pager is
        waited for until the reader leaves it."""
        if not self.started():  # less than a screen (or a Ctrl-C before it was)
            self.out.write("".join(self._kept))
            self._kept = []
            return
        if self._builtin:
            if self.ended is None and self._part:
                self.out.write(self._part + "\n")
            elif self.ended == "ctrl-c":
                self.out.write("\x1b[0m\n")
            return
        proc = self._proc
        try:
            proc.stdin.close()  # the pager sees the end of its input
        except OSError:
            pass
        while True:
            try:
                proc.wait()
                return
            except KeyboardInterrupt:  # the pager has the screen until q
                continue


def read_key(fd: Optional[int]) -> bytes:
    """One key from the terminal, without echo; Ctrl-C still interrupts."""
    import termios
    import tty

    if fd is None:
        fd = sys.stdin.fileno()
    before = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        while True:
            select.select([fd], [], [])  # the terminal may be non-blocking
            try:
                return os.read(fd, 1)
            except BlockingIOError:
                continue
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)
