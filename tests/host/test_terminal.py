"""The terminal as the VM's console leaves it: non-blocking, slow, and
sometimes gone.  The real shell runs in a pty (pexpect) whose reader drains
slowly, with O_NONBLOCK set on the pty's slave side, over the fake client."""

import os
import re
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPT = "rtshell> "
SGR = r"(?:\x1b\[[0-9;]*m)*"  # colour codes between words


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
    screen = drain_slowly(child, "10.19.135.0/24", "5,000 routes", PROMPT)  # the last row, the count
    row, count = screen.find("10.19.135.0/24"), screen.find("5,000 routes")
    assert 0 <= row < count < screen.rfind(PROMPT), screen[-2000:]
    assert "Traceback" not in screen and "Error" not in screen
    child.send("route get 10.0.7.0/24\r")
    # the answer's row, not the echo of the line: a Ctrl-D typed while the
    # command still runs meets a cooked terminal, whose line discipline eats it
    child.expect(r"10\.0\.7\.0/24" + SGR + r"\s+" + SGR + "dummy0")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_watch_on_a_large_table_scrolls_filters_and_gives_the_prompt_back(tmp_path):
    child = spawn(tmp_path, routes=50_000)
    child.expect_exact(PROMPT)
    child.send("watch\r")
    child.expect_exact("rows 1-29 of 50,000")  # 40 lines: 29 of them routes
    child.expect_exact("10.0.28.0/24")
    child.send("\x1b[6~")  # PgDn
    child.expect_exact("rows 30-58 of 50,000")
    child.send("\x1b[6~")
    child.expect_exact("rows 59-87 of 50,000")
    child.expect_exact("10.0.86.0/24")
    frame = child.before
    assert "10.0.58.0/24" in frame and "10.0.57.0/24" not in frame and "10.0.87.0/24" not in frame
    child.send("/10\\.1\\.5")
    child.expect_exact("filter: /10\\.1\\.5")
    child.send("\r")
    child.expect_exact("rows 1-11 of 11 matching /10\\.1\\.5/ (of 50,000)")
    child.expect_exact("10.1.59.0/24")
    frame = child.before
    shown = re.findall(r"(?<![\d.])10\.\d+\.\d+\.0/24", frame) + ["10.1.59.0/24"]
    assert shown == ["10.1.5.0/24"] + [f"10.1.{i}.0/24" for i in range(50, 60)], shown
    child.send("q")
    child.expect_exact("\x1b[?1049l")  # out of the alternate screen
    child.expect_exact(PROMPT)
    child.send("route get 10.0.7.0/24\r")  # the prompt reads lines again
    child.expect_exact("dummy0")  # the answer's row (the watch screen is gone)
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
