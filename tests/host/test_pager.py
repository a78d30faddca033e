"""Output longer than the screen through a pager: short answers pass by,
long ones stream to the pager, leaving it stops the command, Ctrl-C stops
both, and what else is said meanwhile waits for the screen.  The real shell
runs in a pty (pexpect) over the fake client for the interactive parts."""

import io
import os
import sys

import pytest

from fakes import FakeClient, fake_devices
from rtshell.commands.executor import Executor
from rtshell.pager import BUILTIN, Pager, pager_command
from rtshell.render import Output

pexpect = pytest.importorskip("pexpect")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPT = "rtshell> "


def table(n):
    from fake_shell import table as make

    return make(n)


class Counted(FakeClient):
    """A fake client that says how many routes of a dump were taken."""

    taken = 0
    fail_after = None

    def dump(self, filter=None):
        for r in super().dump(filter):
            if self.fail_after is not None and self.taken >= self.fail_after:
                raise OSError(5, "Input/output error")
            self.taken += 1
            yield r


@pytest.fixture
def screen(tmp_path):
    """The terminal's stand-in: a file (24 rows when it is no terminal)."""
    with open(tmp_path / "screen", "w+") as f:
        yield f


def paged_executor(client, screen, command):
    err = io.StringIO()
    ex = Executor(Output("plain", file=screen, err=err, devices=fake_devices()), client=client,
                  devices=fake_devices())
    ex.pager = Pager(screen, command=command)
    return ex, err


def test_the_pager_is_rtshell_pager_then_pager_then_less():
    assert pager_command({"RTSHELL_PAGER": "more", "PAGER": "less"}) == "more"
    assert pager_command({"PAGER": "less -R"}) == "less -R"
    assert pager_command({"RTSHELL_PAGER": "cat", "PAGER": "less"}) is None
    assert pager_command({"PAGER": ""}) is None
    assert pager_command({"RTSHELL_PAGER": "builtin"}) == BUILTIN
    assert pager_command({"PAGER": "no-such-pager-here"}) in ("less", BUILTIN)  # one that exists


def test_a_short_answer_is_written_as_it_is(screen, tmp_path):
    ex, err = paged_executor(Counted(table(10)), screen, f"cat > {tmp_path / 'paged'}")
    assert ex.run_line("route show")
    screen.seek(0)
    assert len(screen.read().splitlines()) == 10
    assert not (tmp_path / "paged").exists()  # no pager ran
    assert err.getvalue() == ""


def test_a_long_answer_streams_to_the_pager_whole(screen, tmp_path):
    ex, err = paged_executor(Counted(table(3000)), screen, f"cat > {tmp_path / 'paged'}")
    assert ex.run_line("route show | exclude 10.0.1[0-9].0/24")
    lines = (tmp_path / "paged").read_text().splitlines()
    assert len(lines) == 3000 - 10 and lines[0].startswith("10.0.0.0/24") and lines[-1].startswith("10.11.183.0/24")
    screen.seek(0)
    assert screen.read() == "" and err.getvalue() == ""


def test_leaving_the_pager_stops_the_command_quietly(screen, tmp_path):
    client = Counted(table(60000))
    ex, err = paged_executor(client, screen, f"head -n 30 > {tmp_path / 'paged'}")
    assert ex.run_line("route show")  # the reader had seen enough: no failure
    assert len((tmp_path / "paged").read_text().splitlines()) == 30
    assert client.taken < 60000  # the dump was left where the reader left
    assert err.getvalue() == ""
    assert ex.run_line("stats")  # and the next command is not paged into a closed pipe
    screen.seek(0)
    assert "routes4 60000" in screen.read()


def test_an_error_while_paging_is_said_after_the_pager(screen, tmp_path):
    client = Counted(table(2000))
    client.fail_after = 1000
    ex, err = paged_executor(client, screen, f"cat > {tmp_path / 'paged'}")
    assert not ex.run_line("route show")
    assert len((tmp_path / "paged").read_text().splitlines()) == 1000
    assert "route show: EIO" in err.getvalue()


def test_background_text_waits_while_a_pager_has_the_screen():
    out, err = io.StringIO(), io.StringIO()
    output = Output("plain", file=out, err=err)
    output.held.start()
    output.above("+ 10.1.0.0/16 dev dummy0\n")
    output.error("boom")
    assert out.getvalue() == err.getvalue() == ""
    for fn, args in output.held.stop():
        fn(*args)
    assert out.getvalue() == "+ 10.1.0.0/16 dev dummy0\n" and err.getvalue() == "error: boom\n"
    output.above("after\n")  # no longer held
    assert out.getvalue().endswith("after\n")


def test_terminal_no_paginate_turns_it_off(screen, tmp_path):
    ex, err = paged_executor(Counted(table(100)), screen, f"cat > {tmp_path / 'paged'}")
    assert ex.run_line("terminal no paginate")
    assert ex.run_line("route show")
    assert not (tmp_path / "paged").exists()
    assert ex.run_line("terminal paginate") and ex.run_line("route show")
    assert (tmp_path / "paged").exists()
    no_pager = Executor(Output("plain", file=io.StringIO(), err=io.StringIO()))
    assert not no_pager.run_line("terminal paginate")
    assert "interactive shell only" in no_pager.output.err.getvalue()


# -- in a terminal ----------------------------------------------------------------------


def spawn(tmp_path, pager, routes, nonblock=True):
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", XDG_STATE_HOME=str(tmp_path),
               RTSHELL_PAGER=pager, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("LESS", None)
    child = pexpect.spawn(sys.executable, [os.path.join(HERE, "fake_shell.py"), *(["--nonblock"] if nonblock else []),
                                           "--routes", str(routes)],
                          env=env, cwd=ROOT, dimensions=(30, 120), encoding="utf-8", timeout=60)
    child.logfile_read = open(tmp_path / "pty.log", "a")
    child.expect_exact(PROMPT)
    return child


needs_less = pytest.mark.skipif(not any(os.access(os.path.join(d, "less"), os.X_OK)
                                        for d in os.environ.get("PATH", "").split(os.pathsep)),
                                reason="no less here")


def leave(child, status=0):
    """Ctrl-D; the shell's status is its last command's."""
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == status


def test_the_builtin_pager_on_a_nonblocking_terminal(tmp_path):
    child = spawn(tmp_path, "builtin", 5000)
    child.send("route show\r")
    child.expect_exact("10.0.26.0/24")  # a screen of 30 rows: the header, 27 routes, --More--
    child.expect_exact("--More--")
    assert "10.0.27.0/24" not in child.before
    child.send(" ")  # a page: 29 rows more
    child.expect_exact("10.0.55.0/24")
    child.expect_exact("--More--")
    assert "10.0.56.0/24" not in child.before
    child.send("\r")  # a line
    child.expect_exact("10.0.56.0/24")
    child.expect_exact("--More--")
    assert "10.0.57.0/24" not in child.before
    child.send("q")
    child.expect_exact(PROMPT)
    child.send("route get 10.0.7.0/24\r")  # short: no pager
    child.expect(r"10\.0\.7\.0/24(?:\x1b\[[0-9;]*m)*\s+dummy0")  # the row, not the line's echo
    child.expect_exact(PROMPT)
    assert "--More--" not in child.before
    child.send("route show\r")
    child.expect_exact("--More--")
    child.sendcontrol("c")
    child.expect_exact("route show: interrupted")
    child.expect_exact(PROMPT)
    leave(child, status=1)


def ctrl_c_then_q(child):
    """Ctrl-C during a paged route show: the command stops, less shows what it
    got until q.  less drops a q typed before it took the interrupt in (its
    typeahead): q again, as a user would; a q that came after less had left
    is cleared from the prompt's line."""
    child.sendcontrol("c")
    for _ in range(4):
        child.send("q")
        if child.expect_exact(["route show: interrupted", pexpect.TIMEOUT], timeout=10) == 0:
            break
    else:
        raise AssertionError("less did not leave on q")
    child.expect_exact(PROMPT)
    child.sendcontrol("u")


@needs_less
def test_less_gets_the_table_q_and_ctrl_c_come_back_to_the_prompt(tmp_path):
    child = spawn(tmp_path, "less", 5000, nonblock=False)
    child.send("route show\r")
    child.expect_exact("10.0.20.0/24")
    child.send("q")
    child.expect_exact(PROMPT)
    child.send("route show\r")
    child.expect_exact("10.0.20.0/24")
    ctrl_c_then_q(child)
    child.send("route show | count\r")
    child.expect_exact("5,000")
    child.expect_exact(PROMPT)
    leave(child)


@needs_less
def test_less_on_a_non_blocking_terminal_as_qemu_leaves_the_console(tmp_path):
    child = spawn(tmp_path, "less", 5000)  # --nonblock
    child.send("route show\r")
    child.expect_exact("10.0.20.0/24")
    child.send("q")
    child.expect_exact(PROMPT)
    child.send("route show\r")
    child.expect_exact("10.0.20.0/24")
    ctrl_c_then_q(child)
    child.send("route show | count\r")  # the prompt still takes keys
    child.expect_exact("5,000")
    child.expect_exact(PROMPT)
    leave(child)
