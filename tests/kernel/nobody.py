"""Kernel tier helper: run a function as an unprivileged user."""

from __future__ import annotations

import os


def as_nobody(fn, *args):
    """Run fn(*args) in a forked child that dropped to uid/gid 65534 (no
    capabilities); return what it returned (a string)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(w, fn(*args).encode())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(w, f"child failed: {exc!r}".encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out
