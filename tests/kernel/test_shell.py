"""End to end: the real shell in a pty (pexpect) and the real CLI, against rtmgr.

Runs inside the VM (the lead's runner): dummy0 10.99.0.1/24 and
2001:db8:ffff::1/64, dummy1 10.98.0.1/24, a read-only $HOME, TERM=linux.
Under emulation starting Python with prompt_toolkit takes tens of seconds,
so one shell session serves the interactive tests in order (each leaves it
at a fresh prompt), setup goes through the Python client, and the CLI is
started only where the CLI itself is under test.  Every test starts from an
empty table.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import termios
import time

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a generous kernel timeout: under emulation a busy guest answers slowly
RTSHELL = [sys.executable, "-m", "rtshell", "--timeout", "60"]
ENV = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM=os.environ.get("TERM", "linux"),
           PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("XDG_STATE_HOME", None)  # history under $HOME, which is read-only in the VM
for _name in ("RTSHELL_PAGER", "PAGER", "LESS"):  # the default pager (less, the guest shares the host's /usr)
    ENV.pop(_name, None)
PROMPT = "rtshell> "
SGR = r"(?:\x1b\[[0-9;]*m)*"  # colour codes rich may put between words
START = 600  # seconds: a cold start under emulation
SLOW = 120  # seconds for anything else


def cli(*args, stdin=None):
    return subprocess.run(RTSHELL + list(args), input=stdin, capture_output=True, text=True,
                          env=ENV, cwd=ROOT, timeout=START)


@pytest.fixture(scope="module")
def client():
    from rtshell.client import Client

    c = Client(timeout=30.0)  # the kernel tier runs with rtmgr loaded: no skipping
    yield c
    c.flush(None)
    c.close()


@pytest.fixture(autouse=True)
def empty_table(client):
    client.flush(None)
    yield


def spawn_shell():
    logdir = os.environ.get("RTSHELL_TEST_LOGS", "/tmp")
    child = pexpect.spawn(RTSHELL[0], RTSHELL[1:], env=ENV, cwd=ROOT, dimensions=(40, 120),
                          encoding="utf-8", timeout=SLOW)
    child.logfile_read = open(os.path.join(logdir, "test_shell_pty.log"), "a")
    child.expect_exact(PROMPT, timeout=START)
    time.sleep(2.0)  # the live feed subscribes in the background
    return child


@contextlib.contextmanager
def killed_if_failed(child):
    """A shell of a test's own.  If the test fails, the shell's threads'
    stacks are printed (it writes them on SIGUSR1), and it is killed: a
    Ctrl-D would only hide what failed behind its own timeout."""
    try:
        yield child
    except BaseException:
        if child.isalive():
            print("the shell and its children when the test failed:\n" + _processes(child.pid))
            lflag = termios.tcgetattr(child.child_fd)[3]
            print("its terminal: " + " ".join(f"{'' if lflag & getattr(termios, f) else '-'}{f.lower()}"
                                              for f in ("ICANON", "ISIG", "ECHO")))
            child.kill(signal.SIGUSR1)
            try:
                child.expect(pexpect.TIMEOUT, timeout=3)  # what it writes, for 3 s
            except pexpect.EOF:
                pass
            print("the shell's screen (its threads' stacks last):\n" + child.before[-12000:])
        child.terminate(force=True)
        raise


def _processes(pid: int) -> str:
    """A process and its children: state, where each sleeps, its system call."""
    ps = subprocess.run(["ps", "-o", "pid,ppid,pgid,tpgid,stat,wchan:24,args", "-p", str(pid), "--ppid", str(pid)],
                        capture_output=True, text=True).stdout
    calls = []
    for row in ps.splitlines()[1:]:
        child = row.split()[0]
        try:
            with open(f"/proc/{child}/syscall") as f:
                calls.append(f"{child}: syscall {f.read().strip()}")
        except OSError as exc:
            calls.append(f"{child}: {exc}")
    return ps + "\n".join(calls)


def ctrl_c_then_q(child):
    """Ctrl-C during a paged route show: the command stops, less shows what it
    got until q.  less drops what was typed before it took the interrupt in
    (it was seen waiting for a key, the q gone): under emulation that window
    is wide, and a user would press q again.  A q that came after less had
    left is cleared from the prompt's line."""
    child.sendintr()
    for _ in range(4):
        child.send("q")
        if child.expect(["interrupted", pexpect.TIMEOUT], timeout=20) == 0:
            break
    else:
        raise AssertionError("less did not leave on q")
    child.expect_exact(PROMPT)
    child.sendcontrol("u")


def leave(child):
    if child.isalive():
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    child.close()


@pytest.fixture(scope="module")
def shell(client):
    child = spawn_shell()
    yield child
    leave(child)


def line(child, text):
    child.send(text + "\r")


# -- the interactive shell (one session, in order) ---------------------------------------------------


def test_type_complete_and_see_the_table(shell):
    line(shell, "route add 10.55.0.0/16 via 10.99.0.2 metric 7")
    shell.expect("ok " + SGR + r"route add 10\.55\.0\.0/16")
    shell.expect(r"\+ " + SGR + r"10\.55\.0\.0/16 via 10\.99\.0\.2 metric 7 proto boot" + SGR
                 + r"\s+by this shell")
    shell.expect_exact(PROMPT)
    shell.send("route sh")
    shell.send("\t")
    time.sleep(2.0)  # the completer runs in a thread
    shell.send("\r")
    shell.expect("Destination")
    shell.expect(r"10\.55\.0\.0/16")
    shell.expect(r"10\.99\.0\.2")
    shell.expect(r"1 route\b")
    shell.expect_exact(PROMPT)


def test_tab_completes_a_live_prefix(shell, client):
    from rtshell.model import Route, parse_prefix

    client.add(Route(parse_prefix("10.56.0.0/16"), oif=_ifindex("dummy1")))
    shell.expect(r"10\.56\.0\.0/16")  # the notification, above the prompt
    time.sleep(2.0)
    shell.send("route get 10.5")
    shell.send("\t")
    time.sleep(2.0)
    shell.send("\r")
    shell.expect(r"10\.56\.0\.0/16")
    shell.expect("dummy1")
    shell.expect_exact(PROMPT)


def test_another_process_adds_a_route_and_the_notification_appears(shell):
    shell.send("route sh")  # half a line typed: it must survive the notification
    time.sleep(1.0)
    done = cli("-c", "route add 10.77.0.0/16 dev dummy0")
    assert done.returncode == 0, done.stderr
    shell.expect(r"\+ " + SGR + r"10\.77\.0\.0/16 dev dummy0")
    shell.expect(r"by (pid \d+ \(\S+\)|port \d+)")
    shell.send("ow\r")
    shell.expect("Destination")
    shell.expect(r"10\.77\.0\.0/16")
    shell.expect_exact(PROMPT)


def test_duplicate_add_shows_eexist_and_the_kernel_text_in_one_line(shell):
    line(shell, "route add 10.60.0.0/16 dev dummy0")
    shell.expect_exact(PROMPT)
    line(shell, "route add 10.60.0.0/16 dev dummy0")
    shell.expect(r"error: " + SGR + r"route add 10\.60\.0\.0/16 dev dummy0: EEXIST \(File exists\): "
                 r"kernel: [^\r\n]+; use replace or append\r?\n")
    shell.expect_exact(PROMPT)


def test_grammar_error_points_at_the_word(shell):
    line(shell, "route add 10.62.0.0/16 dev nosuch0")
    shell.expect(r"\^{7}")
    shell.expect("unknown device 'nosuch0'")
    shell.expect_exact(PROMPT)


def test_transaction(shell, client):
    line(shell, "begin")
    shell.expect_exact("rtshell(txn 0)> ")
    line(shell, "route add 10.63.0.0/16 dev dummy0")
    shell.expect_exact("rtshell(txn 1)> ")
    assert list(client.dump()) == []  # staged, not sent
    line(shell, "diff")
    shell.expect(r"\+ 10\.63\.0\.0/16 dev dummy0")
    line(shell, "commit")
    shell.expect("committed 1 change")
    shell.expect_exact(PROMPT)
    assert [str(r.dst) for r in client.dump()] == ["10.63.0.0/16"]


def test_ctrl_c_during_a_large_show_returns_to_a_working_prompt(client):
    from rtshell.model import Route, parse_prefix

    dev = _ifindex("dummy0")
    with client.batch() as b:
        for i in range(10000):
            b.add(Route(parse_prefix(f"10.{i // 256}.{i % 256}.0/24"), oif=dev))
    child = spawn_shell()  # its own session: the burst of notifications is not the subject here
    with killed_if_failed(child):
        line(child, "route show")
        child.expect("Destination")  # the table has begun: the command is running
        child.expect(r"10\.0\.\d+\.0/24")
        ctrl_c_then_q(child)
        line(child, "route get 10.0.5.0/24")
        child.expect(r"10\.0\.5\.0/24")
        child.expect_exact(PROMPT)
        line(child, "stats")
        child.expect(r"IPv4 routes" + SGR + r"[\s\x1b\[0-9;m]*10,000")
        child.expect_exact(PROMPT)
        line(child, "route show")  # in the pager: q leaves it, and the command with it
        child.expect(r"10\.0\.3\d\.0/24")
        child.send("q")
        child.expect_exact(PROMPT)
        assert "interrupted" not in child.before and "error" not in child.before
        line(child, "route show | include ^10\\.0\\.5\\.0/24")
        child.expect(r"10\.0\.5\.0/24")
        child.expect(r"1 route\b")
        child.expect_exact(PROMPT)
        line(child, "route show | count")
        child.expect_exact("10,000")
        child.expect_exact(PROMPT)
        leave(child)  # a shell that does not leave on Ctrl-D fails here, with its stacks


NONBLOCKING_SHELL = ("import os, runpy, sys; os.set_blocking(0, False); "  # as QEMU leaves the console
                     "sys.argv = ['rtshell', '--timeout', '60']; runpy.run_module('rtshell', run_name='__main__')")


def test_a_terminal_batch_on_a_nonblocking_console_then_show_watch_and_a_burst(client, tmp_path):
    from rtshell.model import Route, parse_prefix

    path = tmp_path / "b5k.rt"
    path.write_text("".join(f"route add 10.{100 + i // 65536}.{i // 256 % 256}.{i % 256}/32 dev dummy0\n"
                            for i in range(5000)))
    os.chmod(tmp_path, 0o755)
    child = pexpect.spawn(sys.executable, ["-c", NONBLOCKING_SHELL], env=ENV, cwd=ROOT, dimensions=(40, 120),
                          encoding="utf-8", timeout=SLOW)
    child.logfile_read = open(os.path.join(os.environ.get("RTSHELL_TEST_LOGS", "/tmp"), "test_shell_pty.log"), "a")
    with killed_if_failed(child):
        child.expect_exact(PROMPT, timeout=START)
        time.sleep(2.0)
        refused = client.stats(tables=False).errors  # the namespace's, since the module loaded
        line(child, f"batch {path}")
        child.expect(r"added 5,000 routes in \d+\.\d s; 0 failed", timeout=600)
        assert not re.search("ok " + SGR + "route add", child.before)  # no line per route on a terminal
        child.expect_exact(PROMPT)
        line(child, "stats")
        child.expect(r"IPv4 routes" + SGR + r"[\s\x1b\[0-9;m]*5,000")
        child.expect_exact(PROMPT)
        assert client.stats(tables=False).errors == refused  # the batch's reads are no refusals
        line(child, "route show")
        child.expect(r"10\.100\.0\.\d+/32")
        time.sleep(2.0)  # less has the screen
        ctrl_c_then_q(child)
        line(child, "watch")
        child.expect(r"watch all tables" + SGR + r"\s+" + SGR + r"rows 1-\d+ of 5,000")
        child.sendintr()
        child.expect_exact(PROMPT)
        dev = _ifindex("dummy1")
        with client.batch() as b:  # another process: 20,000 routes at once
            for i in range(20000):
                b.add(Route(parse_prefix(f"10.{i // 256}.{i % 256}.0/24"), oif=dev))
        # Every change is counted once: in a burst's line, or on a line of its
        # own when it came alone.  Under emulation the writer may pause for more
        # than a burst's gap, and then its changes are told as two bursts or more;
        # lines shown alone just before a burst are counted by it too.
        burst = r"\+([\d,]+) routes by (pid \d+ \(\S+\)|port \d+) in \d+\.\d s"
        one = r"\+ " + SGR + r"10\.\d+\.\d+\.0/24 dev dummy1"
        summed, alone, origins = 0, 0, set()
        while summed < 20000 - alone:
            if child.expect([burst, one]) == 0:
                summed += int(child.match.group(1).replace(",", ""))
                origins.add(child.match.group(2))
            else:
                alone += 1
        assert summed <= 20000 and alone <= 64 and len(origins) == 1, (summed, alone, origins)
        line(child, "route get 10.3.7.0/24")  # and the shell answers
        # its row, not the echo of the line: leave()'s Ctrl-D must meet the
        # prompt, not a command still running on a cooked terminal
        child.expect(r"10\.3\.7\.0/24" + SGR + r"\s+" + SGR + "dummy1")
        child.expect_exact(PROMPT)
        assert "Traceback" not in child.before
        leave(child)  # a shell that does not leave on Ctrl-D fails here, with its stacks
    assert len(list(client.dump())) == 25000


def test_ctrl_c_cancels_the_line_and_ctrl_d_leaves(shell):
    shell.send("route add 10.61.0.0/16 dev dummy0")
    shell.sendintr()
    shell.expect_exact(PROMPT)
    line(shell, "route show")
    shell.expect("no routes")
    shell.expect_exact(PROMPT)
    shell.sendcontrol("d")
    shell.expect(pexpect.EOF)
    assert "Traceback" not in shell.before


# -- -c, -b, -j and exit codes -----------------------------------------------------------------------


def test_c_and_exit_codes(tmp_path):
    ok = cli("-c", "route add 10.70.0.0/16 via 10.99.0.2 table 100")
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""
    dup = cli("-c", "route add 10.70.0.0/16 via 10.99.0.2 table 100")
    assert dup.returncode == 1
    (err,) = dup.stderr.splitlines()
    assert re.match(r"error: route add 10\.70\.0\.0/16 via 10\.99\.0\.2 table 100: EEXIST \(File exists\): "
                    r"kernel: .+; use replace or append$", err), err
    bad = cli("-c", "route add 10.70.0.0/16 dev nosuch0")
    assert bad.returncode == 2 and "unknown device 'nosuch0'" in bad.stderr
    gone = cli("-c", "route del 10.71.0.0/16")
    assert gone.returncode == 1 and "ESRCH" in gone.stderr


def test_batch_json_lookup_and_show(client):
    script = "\n".join([
        "# one document per command",
        "route add default via 2001:db8:ffff::2",
        "route add 10.72.0.0/16 dev dummy1",
        "route add 10.73.0.0/16 nexthop via 10.99.0.2 weight 2 nexthop via 10.98.0.2",
        "route lookup 10.72.1.1 2001:db8::1 192.0.2.1",
        "route show root 10.73.0.0/16",
        "explain route del 10.73.0.0/16",
        "stats",
    ]) + "\n"
    done = cli("-j", "-b", "-", stdin=script)
    assert done.returncode == 0, done.stderr
    docs = [json.loads(x) for x in done.stdout.splitlines()]
    assert len(docs) == 7
    assert all(d == {"ok": True, "command": c} for d, c in zip(docs[:3], script.splitlines()[1:4]))
    lookups = docs[3]
    assert [(x["addr"], x["route"] and x["route"]["dst"]) for x in lookups] == [
        ("10.72.1.1", "10.72.0.0/16"), ("2001:db8::1", "::/0"), ("192.0.2.1", None)]
    (multi,) = docs[4]
    assert multi["family"] == 4 and multi["gateway"] is None
    assert [(h["gateway"], h["weight"]) for h in multi["nexthops"]] == [("10.99.0.2", 2), ("10.98.0.2", 1)]
    assert bytes.fromhex(docs[5]["requests"][0]["hex"])[4:6] == (17).to_bytes(2, "little")  # DELROUTE
    assert docs[6]["routes4"] == 2 and docs[6]["routes6"] == 1  # explain sent nothing


def test_batch_stops_at_the_first_failure_and_force_goes_on(client, tmp_path):
    path = tmp_path / "b.rt"
    path.write_text("# lab\nroute add 10.80.0.0/16 dev dummy0\nroute add 10.80.0.0/16 dev dummy0\n"
                    "route add 10.81.0.0/16 dev dummy0\n")
    done = cli("-b", str(path))
    assert done.returncode == 1
    assert f"{path}:3: route add 10.80.0.0/16 dev dummy0: EEXIST" in done.stderr
    assert [str(r.dst) for r in client.dump()] == ["10.80.0.0/16"]
    client.flush(None)
    done = cli("-b", str(path), "--force")
    assert done.returncode == 1 and f"{path}:3:" in done.stderr
    assert [str(r.dst) for r in client.dump()] == ["10.80.0.0/16", "10.81.0.0/16"]


def test_save_and_restore(client, tmp_path):
    path = tmp_path / "saved.rt"
    script = (f"route add 10.90.0.0/16 via 10.99.0.2 metric 4\nroute add -6 default dev dummy0\n"
              f"route add prohibit 10.91.0.0/16 table 300\nsave {path}\nroute flush all table all\nrestore {path}\n")
    done = cli("-b", "-", stdin=script)
    assert done.returncode == 0, done.stderr
    assert sorted(render_all(client)) == sorted([
        "10.90.0.0/16 via 10.99.0.2 metric 4 proto boot", "default dev dummy0 proto boot -6",
        "prohibit 10.91.0.0/16 table 300 proto boot"])


def test_the_kernels_own_fib_restored_from_ip_route_show(client, tmp_path):
    """What ip route show prints of this VM's FIB, pasted into rtmgr: refused
    word by word, then taken with --lenient, the FIB's words dropped."""
    import ipaddress

    for i in range(3):
        subprocess.run(["ip", "route", "add", f"10.{120 + i}.0.0/16", "via", "10.99.0.2", "dev", "dummy0",
                        "proto", "static", "metric", str(10 + i)], check=True)
    try:
        shown = subprocess.run(["ip", "route", "show", "table", "main"], capture_output=True, text=True,
                               check=True).stdout
        path = tmp_path / "main.txt"
        path.write_text(shown)
        fib = {ipaddress.ip_network(line.split()[0] if line.split()[0] != "default" else "0.0.0.0/0")
               for line in shown.splitlines() if line and not line[0].isspace()}
        strict = cli("-c", f"restore {path}")
        assert strict.returncode == 1 and "attribute of the kernel's FIB" in strict.stderr
        assert list(client.dump()) == []  # a bad line changes nothing
        done = cli("restore", str(path), "--lenient")
        assert done.returncode == 0, done.stderr
        assert "dropped words rtmgr routes do not have: scope" in done.stderr
        assert {r.dst for r in client.dump()} == fib
        route = client.get(ipaddress.ip_network("10.121.0.0/16"))
        assert route.metric == 11 and route.proto == 4 and str(route.gateway) == "10.99.0.2"
        shown_by_us = cli("r", "sh", "exact", "10.121.0.0/16")  # argv, abbreviated, as ip takes it
        assert shown_by_us.stdout == "10.121.0.0/16 via 10.99.0.2 dev dummy0 metric 11 proto static\n"
    finally:
        for i in range(3):
            subprocess.run(["ip", "route", "del", f"10.{120 + i}.0.0/16"], check=False)


# -- helpers -------------------------------------------------------------------------------------------


def _ifindex(name):
    import socket

    return socket.if_nametoindex(name)


def render_all(client):
    from rtshell.names import Devices
    from rtshell.render import route_text

    devices = Devices()
    return [route_text(r, devices) for r in client.dump()]


def test_route_get_of_an_address_agrees_with_route_lookup(client):
    from rtshell.model import Route, parse_prefix

    dev = _ifindex("dummy0")
    for text in ("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "2001:db8::/32"):
        client.add(Route(parse_prefix(text), oif=dev))
    addrs = ("10.1.2.3", "10.1.9.9", "10.200.0.1", "2001:db8::7")
    asked = [f"route get {a}" for a in addrs] + [
        "route get 10.1.2.3/32",  # a prefix is read exactly
        "route get 192.0.2.1"]
    done = cli("-j", *[arg for line in asked for arg in ("-c", line)])  # one process: each start costs seconds
    assert done.returncode == 1  # the last two fail
    docs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [d["dst"] for d in docs[:4]] == [str(client.lookup(a).dst) for a in addrs]
    assert [d["error"]["errno"] for d in docs[4:]] == ["ENOENT", "ENETUNREACH"]
    assert "ENOENT" in done.stderr and "ENETUNREACH" in done.stderr
