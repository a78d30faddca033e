"""Batches as `ip -batch` runs them, and as long work on a terminal: every
mix of kernel errors, parse errors and good lines with and without --force,
the progress bar and the summary line, and Ctrl-C at a clean point (against
the fake client; the kernel tier runs batches against rtmgr)."""

import io
import itertools
import os
import re
import signal

import pytest

from fakes import FakeClient, fake_devices, route
from rtshell.cli import main
from rtshell.commands import Executor
from rtshell.render import Output

EXISTS = "10.0.0.0/8"  # in the table already: adding it fails in the "kernel"
LINE = {
    "good": "route add 10.{i}.0.0/16 dev dummy0",
    "kernel": f"route add {EXISTS} dev dummy0",
    "parse": "route add 10.{i}.0.0/33 dev dummy0",
}


def run_cli(client, *argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err,
              client_factory=lambda: client, devices=fake_devices())
    return rc, out.getvalue(), err.getvalue()


def error_lines(err: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"^error: stdin:(\d+): ", err, re.M)]


MIXES = [mix for n in (1, 2, 3, 4) for mix in itertools.product(LINE, repeat=n)]


@pytest.mark.parametrize("mix", MIXES, ids=lambda mix: "-".join(mix))
def test_force_reports_every_failing_line_once_and_runs_all_the_others(mix):
    client = FakeClient([route(EXISTS, gateway="10.99.0.2")])
    text = "".join(LINE[kind].format(i=i) + "\n" for i, kind in enumerate(mix, 1))
    rc, out, err = run_cli(client, "-b", "-", "--force", stdin=text)
    failing = [i for i, kind in enumerate(mix, 1) if kind != "good"]
    assert error_lines(err) == failing, err
    present = {str(k[2]) for k in client.table}
    assert {f"10.{i}.0.0/16" for i, kind in enumerate(mix, 1) if kind == "good"} <= present
    assert rc == (1 if failing else 0)


@pytest.mark.parametrize("mix", MIXES, ids=lambda mix: "-".join(mix))
def test_without_force_exactly_the_lines_before_the_first_failure_run(mix):
    client = FakeClient([route(EXISTS, gateway="10.99.0.2")])
    text = "".join(LINE[kind].format(i=i) + "\n" for i, kind in enumerate(mix, 1))
    rc, out, err = run_cli(client, "-b", "-", stdin=text)
    first = next((i for i, kind in enumerate(mix, 1) if kind != "good"), None)
    assert error_lines(err) == ([first] if first else []), err
    present = {str(k[2]) for k in client.table} - {EXISTS}
    assert present == {f"10.{i}.0.0/16" for i, kind in enumerate(mix, 1)
                       if kind == "good" and (first is None or i < first)}
    assert rc == (1 if first else 0)


# -- on a terminal -------------------------------------------------------------------------


class TtyBuffer(io.StringIO):
    """What a terminal would have been sent."""

    def isatty(self):
        return True

    def text(self) -> str:
        """What it shows, without the escape sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.getvalue())


def terminal_executor(client, verbose=False):
    out = TtyBuffer()
    output = Output("rich", file=out, err=out, devices=fake_devices(), width=120)
    ex = Executor(output, devices=fake_devices(), client=client)
    ex.verbose = verbose
    return ex, out


def adds(n, start=0):
    return [f"route add 10.{i // 256}.{i % 256}.0/24 dev dummy0" for i in range(start, start + n)]


def test_a_terminal_batch_draws_a_bar_and_ends_with_one_summary_line():
    ex, out = terminal_executor(FakeClient())
    assert ex.run_batch(adds(3000) + ["", "# a comment", "stats"], "routes.rt")
    text = out.text()
    assert "ok route add" not in text  # no line per route
    assert re.search(r"\d+/3003", text)  # the bar: done/total
    (summary,) = [line for line in text.splitlines() if "routes.rt:" in line]
    assert re.search(r"routes\.rt: added 3,000 routes, ran 1 other command in \d+\.\d s; 0 failed$",
                     summary), summary


def test_verbose_brings_the_per_route_lines_back():
    ex, out = terminal_executor(FakeClient(), verbose=True)
    assert ex.run_batch(adds(5), "routes.rt")
    assert out.text().count("ok route add") == 5


def test_the_summary_counts_failures_and_each_failure_keeps_its_line():
    client = FakeClient([route("10.0.1.0/24", oif=2)])
    ex, out = terminal_executor(client)
    assert not ex.run_batch(adds(4) + ["route add 10.0.9.0/33 dev dummy0"], "f.rt", force=True)
    text = out.text()
    assert "f.rt:2: route add 10.0.1.0/24 dev dummy0: EEXIST" in text
    assert "f.rt:5: " in text
    assert re.search(r"f\.rt: added 3 routes in \d+\.\d s; 2 failed", text), text


def test_plain_text_keeps_its_stable_lines():
    client = FakeClient()
    rc, out, err = run_cli(client, "-b", "-", stdin="\n".join(adds(3000)))
    assert rc == 0 and out == "" and err == ""


class InterruptingClient(FakeClient):
    """Ctrl-C arrives while the second group of requests is in the kernel."""

    def batch(self, atomic=False, raise_on_error=True):
        if len(self.batches) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return super().batch(atomic, raise_on_error)


def test_ctrl_c_stops_between_two_groups_and_says_how_far_it_got():
    client = InterruptingClient()
    ex, out = terminal_executor(client)
    assert not ex.run_batch(adds(5000), "big.rt")
    assert len(client.table) == 2048  # two whole groups of 1,024, nothing of the third
    assert re.search(r"big\.rt: interrupted before big\.rt:2049: added 2,048 routes in \d+\.\d s; 0 failed",
                     out.text()), out.text()[-500:]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back


def test_save_and_restore_on_a_terminal_say_what_they_did_in_one_line(tmp_path):
    client = FakeClient([route(f"10.{i // 256}.{i % 256}.0/24", oif=2) for i in range(2000)])
    ex, out = terminal_executor(client)
    path = tmp_path / "all.rt"
    assert ex.run_line(f"save {path}")
    assert re.search(rf"saved 2,000 routes to {path} in \d+\.\d s", " ".join(out.text().split()))
    client.table.clear()
    assert ex.run_line(f"restore {path}")
    assert len(client.table) == 2000
    said = " ".join(out.text().split())  # a long path wraps the line
    assert re.search(rf"restored 2,000 of 2,000 routes from {path} in \d+\.\d s; 0 failed", said)
    assert "/2000" in out.text()  # the bar


def test_an_interrupted_batch_command_says_so_once(tmp_path):
    client = InterruptingClient()
    ex, out = terminal_executor(client)
    path = tmp_path / "b.rt"
    path.write_text("\n".join(adds(3000)))
    assert not ex.run_line(f"batch {path}")
    errors = [line for line in out.text().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "interrupted before" in errors[0], errors


def test_restore_times_and_shows_its_reading_too(tmp_path):
    """Reading the file is most of a restore's time: the summary counts it."""
    import time

    client = FakeClient([route(f"10.{i // 256}.{i % 256}.0/24", oif=2) for i in range(600)])
    ex, out = terminal_executor(client)
    path = tmp_path / "all.rt"
    assert ex.run_line(f"save {path}")
    parse = ex.parse

    def slow_parse(line):
        time.sleep(0.001)
        return parse(line)

    ex.parse = slow_parse
    assert ex.run_line(f"restore {path}")
    said = " ".join(out.text().split())
    assert "reading " in said  # the first part's bar
    seconds = float(re.search(r"restored 600 of 600 routes from \S+ in (\d+\.\d) s", said).group(1))
    assert seconds >= 0.6
