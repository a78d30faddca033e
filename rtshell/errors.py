"""Exceptions: what the kernel refused, and why, in one readable line.

Every error is an :class:`RtmgrError`, itself an :class:`OSError` carrying
the errno; the subclasses also derive from the matching builtin, so
``except FileExistsError`` works as well as ``except RouteExists``.
:func:`error_for` picks the class for an errno.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Iterable, Optional


class RtmgrError(OSError):
    """A request failed.

    ``errno``: positive errno; ``ext_ack``: the kernel's extended ACK text
    (or None); ``request``: what was asked, readable; ``offset``: offset in
    the request of the attribute the kernel blamed (or None); ``detail``:
    what the client itself found, when the error is its own rather than the
    kernel's answer (a timeout, a closed client, a malformed reply), or None.
    """

    errno: int  # never None here, unlike OSError's
    default_errno = _errno.EIO
    advice: Optional[str] = None

    def __init__(
        self,
        errno: Optional[int] = None,
        ext_ack: Optional[str] = None,
        request: Optional[str] = None,
        offset: Optional[int] = None,
        detail: Optional[str] = None,
    ):
        code = self.default_errno if errno is None else errno
        super().__init__(code, os.strerror(code))
        self.ext_ack = ext_ack
        self.request = request
        self.offset = offset
        self.detail = detail

    @property
    def errno_name(self) -> str:
        return _errno.errorcode.get(self.errno, f"errno {self.errno}")

    def __str__(self) -> str:
        head = f"{self.request}: " if self.request else ""
        text = f"{head}{self.errno_name} ({self.strerror})"
        if self.ext_ack:
            text += f": {self.ext_ack}"
        if self.detail:
            text += f": {self.detail}"
        if self.offset is not None:
            text += f" (at byte {self.offset} of the request)"
        if self.advice:
            text += f"; {self.advice}"
        return text

    def __reduce__(self) -> tuple[type[RtmgrError], tuple[object, ...]]:
        return (type(self), (self.errno, self.ext_ack, self.request, self.offset, self.detail))


class RouteExists(RtmgrError, FileExistsError):
    default_errno = _errno.EEXIST
    advice = "use replace or append"


class RouteNotFound(RtmgrError, FileNotFoundError):
    default_errno = _errno.ENOENT
    advice = "no route has that key; use add (or replace) to create it"


class NoSuchRoute(RtmgrError, ProcessLookupError):
    default_errno = _errno.ESRCH
    advice = "no route has that key, or it does not match what was given"


class NoRoute(RtmgrError):
    default_errno = _errno.ENETUNREACH
    advice = "no route matches"


class NotPermitted(RtmgrError, PermissionError):
    default_errno = _errno.EPERM
    advice = "needs CAP_NET_ADMIN (run as root)"


class InvalidRequest(RtmgrError, ValueError):
    """EINVAL from the kernel, or a request refused before it was sent."""

    default_errno = _errno.EINVAL


class NoSuchDevice(RtmgrError):
    default_errno = _errno.ENODEV
    advice = "no such interface in this network namespace"


class TableFull(RtmgrError):
    default_errno = _errno.ENOSPC
    advice = "the namespace holds max_routes routes; delete some or raise the limit"


class TooBig(RtmgrError):
    default_errno = _errno.E2BIG
    advice = "too many next hops or addresses for one request"


def source_checkout(package_dir: Optional[str] = None) -> bool:
    """Whether the rtshell package (or ``package_dir``) sits in a source checkout:
    the project's Makefile and kernel/ beside it, as opposed to an installed copy."""
    root = os.path.dirname(package_dir or os.path.dirname(os.path.abspath(__file__)))
    return os.path.isfile(os.path.join(root, "Makefile")) and os.path.isdir(os.path.join(root, "kernel"))


def load_advice(checkout: Optional[bool] = None) -> str:
    """What to do when rtmgr is not loaded: the one text for the library's
    error and the shell's hint.  On a host it is loaded as root; a source
    checkout has the make targets (``checkout``: by default, whether this
    package runs from one)."""
    if checkout is None:
        checkout = source_checkout()
    if checkout:
        how = ("in this source checkout: `make shell` (rtshell in a VM with rtmgr loaded), "
               "or `make load` where the running kernel loads modules")
    else:
        how = "load it as root: `modprobe rtmgr`, or `insmod rtmgr.ko`"
    return f"the rtmgr module is not loaded (netlink protocol 31 is not registered): {how}"


class ModuleNotLoaded(RtmgrError):
    default_errno = _errno.EPROTONOSUPPORT
    advice = load_advice()


class Timeout(RtmgrError, TimeoutError):
    default_errno = _errno.ETIMEDOUT
    advice = "the kernel did not answer in time"


class Overrun(RtmgrError):
    default_errno = _errno.ENOBUFS
    advice = "the receive buffer overran and messages were lost; resync with a dump"


class ProtocolError(RtmgrError):
    default_errno = _errno.EBADMSG
    advice = "the reply was malformed"


class BatchError(RtmgrError):
    """Some requests of a batch failed.

    ``failures``: ``[(index, RtmgrError), ...]`` in request order;
    ``results``: one entry per request, ``None`` (applied) or the error;
    ``undone``: for an atomic batch, a description of every undo request
    that was applied (``"route delete 10.1.0.0/16 table main (undoes #3)"``);
    ``undo_failures``: ``[(description, RtmgrError), ...]`` of undo requests
    that themselves failed (the table may then differ from before the batch).
    """

    def __init__(self, results: Iterable[Optional[RtmgrError]],
                 failures: Iterable[tuple[int, RtmgrError]], undone: Iterable[str] = (),
                 undo_failures: Iterable[tuple[str, RtmgrError]] = (),
                 atomic: bool = False) -> None:
        self.results = list(results)
        self.failures = list(failures)
        self.undone = list(undone)
        self.undo_failures = list(undo_failures)
        self.atomic = atomic
        first = self.failures[0][1] if self.failures else None
        super().__init__(getattr(first, "errno", None) or _errno.EIO,
                         getattr(first, "ext_ack", None), getattr(first, "request", None),
                         getattr(first, "offset", None))

    def _summary(self) -> str:
        n = len(self.failures)
        head = f"{n} of {len(self.results)} batch request{'s' if len(self.results) != 1 else ''} failed"
        shown = "; ".join(f"#{i} {_error_text(e)}" for i, e in self.failures[:3])
        if n > 3:
            shown += f"; ... and {n - 3} more"
        text = f"{head}: {shown}"
        if self.atomic:
            text += f"; undid {len(self.undone)} change{'s' if len(self.undone) != 1 else ''}"
            if self.undo_failures:
                text += f", {len(self.undo_failures)} undo request(s) failed"
        return text

    def __str__(self) -> str:
        return self._summary()

    def __reduce__(self) -> tuple[type[RtmgrError], tuple[object, ...]]:
        return (type(self), (self.results, self.failures, self.undone, self.undo_failures,
                             self.atomic))


class DumpInterrupted(RtmgrError):
    """The table kept changing under a dump: every attempt was interrupted."""

    default_errno = _errno.EINTR
    advice = "the table changed under every attempt; try again when it is quieter"


def _error_text(exc: BaseException) -> str:
    """'<request>: <kernel text or strerror>' for a summary line."""
    req = getattr(exc, "request", None)
    num = getattr(exc, "errno", None)
    text = getattr(exc, "ext_ack", None) or (os.strerror(num) if num else str(exc))
    return f"{req}: {text}" if req else text


_BY_ERRNO = {
    _errno.EEXIST: RouteExists,
    _errno.ENOENT: RouteNotFound,
    _errno.ESRCH: NoSuchRoute,
    _errno.ENETUNREACH: NoRoute,
    _errno.EPERM: NotPermitted,
    _errno.EACCES: NotPermitted,
    _errno.EINVAL: InvalidRequest,
    _errno.ENODEV: NoSuchDevice,
    _errno.ENOSPC: TableFull,
    _errno.E2BIG: TooBig,
    _errno.EPROTONOSUPPORT: ModuleNotLoaded,
    _errno.ETIMEDOUT: Timeout,
    _errno.ENOBUFS: Overrun,
    _errno.EBADMSG: ProtocolError,
}


def error_for(
    errno: int,
    ext_ack: Optional[str] = None,
    request: Optional[str] = None,
    offset: Optional[int] = None,
    detail: Optional[str] = None,
) -> RtmgrError:
    """The exception for a (positive) errno, e.g. from an NLMSG_ERROR
    (``ext_ack``: the kernel's text; ``detail``: the client's own)."""
    errno = abs(errno)
    cls = _BY_ERRNO.get(errno, RtmgrError)
    return cls(errno, ext_ack, request, offset, detail)
