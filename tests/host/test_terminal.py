"""The terminal as the VM's console leaves it: non-blocking, slow, and
sometimes gone.  The real shell runs in a pty (pexpect) whose reader drains
slowly, with O_NONBLOCK set on the pty's slave side, over the fake client."""

import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPT = "rtshell> "


def spawn(tmp_path, *args, routes=0, pager="cat"):
    """pager: RTSHELL_PAGER (cat: none, builtin: the --More-- one)."""
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", XDG_STATE_HOME=str(tmp_path),
               RTSHELL_PAGER=pager,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = pexpect.spawn(sys.executable, [os.path.join(HERE, "fake_shell.py"), "--nonblock",
                                           "--routes", str(routes), "--", *args],
                          env=env, cwd=ROOT, dimensions=(40, 120), encoding="utf-8", timeout=60)
    child.logfile_read = open(tmp_path / "pty.log", "a")
    return child


def drain_slowly(child, *marks, limit=120.0):
    """Read the pty a little at a time, far slower than the shell writes,
    until `marks` have been seen in that order (or the shell ended);
    returns what was read."""
    seen = ""
    deadline = time.monotonic() + limit

    def found():
        at = 0
        for mark in marks:
            at = seen.find(mark, at)
            if at < 0:
                return False
            at += len(mark)
        return True

    while not found() and time.monotonic() < deadline:
        try:
            seen += child.read_nonblocking(256, timeout=1)
        except pexpect.TIMEOUT:
            continue
        except pexpect.EOF:
            break
        time.sleep(0.002)
    return seen


def test_a_large_table_through_a_slow_nonblocking_terminal(tmp_path):
    child = spawn(tmp_path, routes=5000)
    child.expect_exact(PROMPT)
    child.send("route show\r")
    screen = drain_slowly(child, "10.19.135.0/24", "5000 routes", PROMPT)  # the last row, the count
    row, count = screen.find("10.19.135.0/24"), screen.find("5000 routes")
    assert 0 <= row < count < screen.rfind(PROMPT), screen[-2000:]
    assert "Traceback" not in screen and "Error" not in screen
    child.send("route get 10.0.7.0/24\r")
    child.expect_exact("10.0.7.0/24")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
