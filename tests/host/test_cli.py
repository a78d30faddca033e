"""`rtshell -c`, `-b`, `-j`, exit codes, batching, transactions: the shell's
logic against the fake client (the kernel tier runs the same against rtmgr)."""

import io
import errno
import json
import struct

import pytest

from fakes import CliRun, FakeClient, fake_devices, failing_factory, route
from rtshell import errors
from rtshell.cli import main
from rtshell.model import Event


@pytest.fixture
def client():
    return FakeClient([route("10.0.0.0/8", gateway="10.99.0.2"),
                       route("2001:db8::/32", oif=2, table=100)])


@pytest.fixture
def run(client):
    return CliRun(client)


def keys(client):
    return sorted(str(k[2]) for k in client.table)


# -- -c ----------------------------------------------------------------------------------


def test_show_plain_is_ip_route_text(run):
    assert run("-c", "route show table all") == 0
    assert run.out.splitlines() == ["2001:db8::/32 dev dummy0 table 100 proto boot",
                                    "10.0.0.0/8 via 10.99.0.2 proto boot"]
    assert run.err == ""


def test_show_and_flush_act_on_main_as_ip_does(run, client):
    assert run("-c", "route show") == 0
    assert run.out.splitlines() == ["10.0.0.0/8 via 10.99.0.2 proto boot"]
    assert run("-c", "route flush all") == 0
    assert keys(client) == ["2001:db8::/32"]  # table 100 is left alone


def test_show_json_is_one_array(run):
    assert run("-j", "-c", "route show table main") == 0
    (line,) = run.out.splitlines()
    (obj,) = json.loads(line)
    assert obj == {"dst": "10.0.0.0/8", "family": 4, "gateway": "10.99.0.2", "dev": None, "metric": 0,
                   "table": "main", "table_id": 254, "type": "unicast", "protocol": "boot", "nexthops": []}


def test_add_is_silent_in_plain_text_and_acked_in_json(run, client):
    assert run("-c", "route add 10.1.0.0/16 dev dummy0 metric 5") == 0
    assert run.out == "" and run.err == ""
    assert client.table[(254, 4, route("10.1.0.0/16").dst, 5)].metric == 5
    assert run("-j", "-c", "route add 10.2.0.0/16 dev dummy0") == 0
    assert json.loads(run.out) == {"ok": True, "command": "route add 10.2.0.0/16 dev dummy0"}


def test_duplicate_add_is_one_line_with_errno_kernel_text_and_advice(run):
    assert run("-c", "route add 10.0.0.0/8 dev dummy0") == 1
    (line,) = run.err.splitlines()
    assert line == ("error: route add 10.0.0.0/8 dev dummy0: EEXIST (File exists): "
                    "kernel: route 10.0.0.0/8 exists in table 254; use replace or append")


def test_error_json_document(run):
    assert run("-j", "-c", "route del 10.9.0.0/16") == 1
    doc = json.loads(run.out)
    assert doc["ok"] is False
    assert doc["error"]["errno"] == "ESRCH"
    assert doc["error"]["kernel"] == "no matching route"
    assert "ESRCH" in run.err


def test_an_error_of_the_client_is_not_put_in_the_kernels_mouth(run, client):
    def silent(route, echo=False):  # what the client raises when the kernel never answers
        raise errors.error_for(errno.ETIMEDOUT, None, "route add 10.5.0.0/16 dev dummy0", None,
                               "no answer within 5 s")
    client.add = silent
    assert run("-c", "route add 10.5.0.0/16 dev dummy0") == 1
    (line,) = run.err.splitlines()
    assert line.startswith("error: route add 10.5.0.0/16 dev dummy0: ETIMEDOUT (Connection timed out): "
                           "no answer within 5 s")
    assert "kernel:" not in line
    assert run("-j", "-c", "route add 10.5.0.0/16 dev dummy0") == 1
    err = json.loads(run.out)["error"]
    assert (err["kernel"], err["detail"]) == (None, "no answer within 5 s")


def test_permission_error_advice(run, client):
    def deny(route, echo=False):
        raise errors.NotPermitted(None, None, "route add")
    client.add = deny
    assert run("-c", "route add 10.5.0.0/16 dev dummy0") == 1
    assert "EPERM (Operation not permitted)" in run.err and "needs CAP_NET_ADMIN" in run.err


def test_grammar_error_in_c_is_a_usage_error(run, client):
    before = dict(client.table)
    assert run("-c", "route add 10.0.0.0/8 dev eth9") == 2
    assert run.err.splitlines() == ["  route add 10.0.0.0/8 dev eth9",
                                    "                           ^^^^",
                                    "error: 'dev': unknown device 'eth9'"]
    assert client.table == before and client.calls == []


def test_several_c_run_in_order_and_fail_as_a_whole(run, client):
    assert run("-c", "route add 10.1.0.0/16 dev dummy0", "-c", "route add 10.0.0.0/8 dev dummy0",
               "-c", "route add 10.3.0.0/16 dev dummy0") == 1
    assert "10.3.0.0/16" in keys(client) and "10.1.0.0/16" in keys(client)


def test_usage_errors_exit_2(run):
    assert run("--bogus") == 2
    assert run("-c") == 2
    assert run("-c", "stats", "-b", "x") == 2
    assert run("--help") == 0


def test_module_not_loaded_is_a_failure_with_advice():
    out, err = io.StringIO(), io.StringIO()
    rc = main(["-c", "route show"], stdout=out, stderr=err, client_factory=failing_factory(),
              devices=fake_devices())
    assert rc == 1
    assert "EPROTONOSUPPORT" in err.getvalue() and "make load" in err.getvalue()


def test_help_and_explain_work_without_the_module():
    for argv in (["-c", "help"], ["-c", "explain route add 10.0.0.0/8 dev lo"], ["-c", "route add ?"]):
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, stdout=out, stderr=err, client_factory=failing_factory(),
                    devices=fake_devices()) == 0, err.getvalue()


def test_lookup(run):
    assert run("-c", "route lookup 10.1.2.3 2001:db8::1 192.0.2.1 table main") == 0
    assert run.out.splitlines() == ["10.1.2.3 10.0.0.0/8 via 10.99.0.2 proto boot",
                                    "2001:db8::1 unreachable", "192.0.2.1 unreachable"]
    assert run("-j", "-c", "route lookup 2001:db8::1 table 100") == 0
    assert json.loads(run.out)[0]["route"]["dst"] == "2001:db8::/32"


def test_get(run):
    assert run("-c", "route get 10.0.0.0/8") == 0
    assert run.out == "10.0.0.0/8 via 10.99.0.2 proto boot\n"
    assert run("-c", "route get 10.1.0.0/16") == 1
    assert "ENOENT" in run.err and "route get ADDR" in run.err


def test_get_of_an_address_is_the_route_it_takes_as_ip_route_get(run):
    assert run("-c", "route get 10.1.2.3") == 0
    assert run.out == "10.0.0.0/8 via 10.99.0.2 proto boot\n"
    assert run("-c", "route get 10.1.2.3 fibmatch") == 0
    assert run.out == "10.0.0.0/8 via 10.99.0.2 proto boot\n"
    assert run("-c", "route get 10.1.2.3/32") == 1  # a prefix: read exactly
    assert "ENOENT" in run.err
    assert run("-c", "route get 192.0.2.1") == 1
    assert "ENETUNREACH" in run.err


def test_flush_counts(run, client):
    assert run("-c", "route flush table 100") == 0
    assert run.out == "route flush table 100: 1 route deleted\n"
    assert keys(client) == ["10.0.0.0/8"]


def test_stats_json(run):
    assert run("-j", "-c", "stats") == 0
    doc = json.loads(run.out)
    assert doc["routes4"] == 1 and doc["routes6"] == 1
    assert {"table": "100", "table_id": 100, "family": 6, "routes": 1} in doc["tables"]


def test_explain_sends_nothing_and_shows_bytes(run, client):
    assert run("-j", "-c", "explain route add 10.1.0.0/16 via 10.99.0.2") == 0
    doc = json.loads(run.out)
    (req,) = doc["requests"]
    data = bytes.fromhex(req["hex"])
    assert req["length"] == len(data) == int.from_bytes(data[:4], "little")
    assert "NEWROUTE" in req["decoded"] and "10.1.0.0/16" in req["decoded"]
    assert client.calls == []
    assert run("-c", "explain route show root 10.0.0.0/8") == 0
    assert "GETROUTE" in run.out and "hex " in run.out
    assert run("-c", "explain begin") == 0
    assert "sends nothing" in run.out


#: every kind of request explain can show, as a user types it
EXPLAINED = (
    "route add 10.1.0.0/16 via 10.99.0.2 metric 3",
    "route add 2001:db8::/32 nexthop via 2001:db8:ffff::2 weight 2 nexthop dev dummy1 table 100",
    "route replace 10.1.0.0/16 dev dummy0 proto bgp",
    "route change 10.1.0.0/16 via 10.99.0.3",
    "route append 10.1.0.0/16 via 10.98.0.2",
    "route del 10.1.0.0/16",
    "route del 10.1.0.0/16 metric 3 table 100",
    "route get 10.1.0.0/16",
    "route lookup 10.1.2.3 table 100",
    "route lookup 10.1.2.3 10.9.9.9",
    "route flush table 100 proto bgp",
    "route show root 10.0.0.0/8",
    "stats",
)


@pytest.mark.parametrize("line", EXPLAINED)
def test_explain_shows_the_bytes_the_client_sends(line):
    """What explain shows for a command is the first message a real Client
    sends for it (against the in-process kernel), byte for byte but the seq."""
    from fake_kernel import FakeKernel, FakeSocket
    from rtshell.client import Client
    from rtshell.commands import parse
    from rtshell.commands.executor import Context

    (req,) = parse(line, Context(fake_devices())).request
    sent: list[bytes] = []
    with Client(timeout=2.0, _socket_factory=lambda **kw: FakeSocket(FakeKernel(), **kw)) as client:
        client.trace = lambda direction, data: sent.append(data) if direction == "send" else None
        try:
            result = req.call(client)
            if req.method == "dump":
                list(result)
        except errors.RtmgrError:
            pass  # refused by the kernel: it was still sent
    first = sent[0]
    length = struct.unpack_from("=I", first)[0]
    seq = struct.unpack_from("=I", first, 8)[0]
    assert req.encode(seq) == first[:length]


# -- -b ------------------------------------------------------------------------------------

BATCH = """\
# routes for the lab
route add 10.1.0.0/16 dev dummy0
route add 10.2.0.0/16 dev dummy0

route add 10.0.0.0/8 dev dummy0
route add 10.3.0.0/16 dev dummy0
"""


def test_batch_stops_at_the_first_failure_like_ip_batch(run, client):
    assert run("-b", "-", stdin=BATCH) == 1
    assert keys(client) == ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "2001:db8::/32"]
    (line,) = run.err.splitlines()
    assert line.startswith("error: stdin:5: route add 10.0.0.0/8 dev dummy0: EEXIST")


def test_batch_force_goes_on(run, client):
    assert run("-b", "-", "--force", stdin=BATCH) == 1
    assert "10.3.0.0/16" in keys(client)
    assert "stdin:5:" in run.err


def test_batch_sends_changes_together(run, client):
    lines = "".join(f"route add 10.{i}.0.0/16 dev dummy0\n" for i in range(1, 50))
    assert run("-b", "-", stdin=lines) == 0
    assert len(client.batches) == 1 and len(client.batches[0][1]) == 49
    assert not [c for c in client.calls if c[0] == "add" and c not in client.calls[:49]]


def test_batch_from_a_file_and_line_numbers_of_grammar_errors(run, client, tmp_path):
    path = tmp_path / "b.rt"
    path.write_text("route add 10.1.0.0/16 dev dummy0\nroute add 10.2.0.0/16 dev eth9\n"
                    "route add 10.3.0.0/16 dev dummy0\n")
    assert run("-b", str(path)) == 1
    assert f"{path}:2: 'dev': unknown device 'eth9'" in run.err
    assert "10.1.0.0/16" in keys(client) and "10.3.0.0/16" not in keys(client)
    assert run("-b", str(tmp_path / "missing")) == 1
    assert "cannot read" in run.err


def test_batch_json_prints_one_document_per_command(run):
    assert run("-j", "-b", "-", stdin="route add 10.1.0.0/16 dev dummy0\nstats\nroute show table 100\n"
                                      "route add 10.0.0.0/8 dev dummy0\n") == 1
    docs = [json.loads(line) for line in run.out.splitlines()]
    assert len(docs) == 4
    assert docs[0] == {"ok": True, "command": "route add 10.1.0.0/16 dev dummy0"}
    assert docs[1]["routes4"] == 2
    assert docs[2][0]["dst"] == "2001:db8::/32"
    assert docs[3]["ok"] is False and docs[3]["error"]["errno"] == "EEXIST"


def test_stdin_without_a_terminal_is_a_batch(run, client):
    assert run(stdin="route add 10.7.0.0/16 dev dummy0\n") == 0
    assert "10.7.0.0/16" in keys(client)


def test_exit_ends_a_batch(run, client):
    assert run("-b", "-", stdin="route add 10.1.0.0/16 dev dummy0\nexit\nroute add 10.2.0.0/16 dev dummy0\n") == 0
    assert "10.2.0.0/16" not in keys(client)


# -- transactions, save / restore -----------------------------------------------------------


def test_begin_diff_commit(run, client):
    script = ("begin\nroute add 10.1.0.0/16 dev dummy0\nroute replace 10.0.0.0/8 dev dummy1\n"
              "route del 2001:db8::/32 table 100\ndiff\ncommit\n")
    assert run("-b", "-", stdin=script) == 0
    assert client.batches[-1][0] is True  # atomic
    assert keys(client) == ["10.0.0.0/8", "10.1.0.0/16"]
    out = run.out.splitlines()
    assert "+ 10.1.0.0/16 dev dummy0 proto boot" in out
    assert "- 10.0.0.0/8 via 10.99.0.2 proto boot" in out
    assert "+ 10.0.0.0/8 dev dummy1 proto boot" in out
    assert "- 2001:db8::/32 dev dummy0 table 100 proto boot" in out


def test_diff_foresees_failures_and_a_failed_commit_applies_nothing(run, client):
    script = "begin\nroute add 10.1.0.0/16 dev dummy0\nroute add 10.0.0.0/8 dev dummy0\ndiff\ncommit\n"
    assert run("-b", "-", stdin=script) == 1
    assert "! route add 10.0.0.0/8 dev dummy0: would fail: EEXIST" in run.out
    assert "commit failed, nothing applied" in run.err
    assert keys(client) == ["10.0.0.0/8", "2001:db8::/32"]


def test_abort_and_transaction_errors(run, client):
    assert run("-b", "-", stdin="begin\nroute add 10.1.0.0/16 dev dummy0\nabort\n") == 0
    assert "dropped 1 staged change" in run.out and "10.1.0.0/16" not in keys(client)
    assert run("-c", "commit") == 1 and "no open transaction" in run.err
    assert run("-b", "-", stdin="begin\nbegin\n") == 1 and "already open" in run.err


def test_save_and_restore(run, client, tmp_path):
    client.table[(254, 4, route("10.5.0.0/16").dst, 3)] = route("10.5.0.0/16", type="blackhole", metric=3)
    path = tmp_path / "routes.rt"
    assert run("-c", f"save {path}") == 0
    text = path.read_text().splitlines()
    assert text[0].startswith("# rtshell save")
    assert text[1:] == ["route add 2001:db8::/32 dev dummy0 table 100 proto boot",
                        "route add 10.0.0.0/8 via 10.99.0.2 proto boot",
                        "route add blackhole 10.5.0.0/16 metric 3 proto boot"]
    saved = dict(client.table)
    assert run("-c", "route flush all table all") == 0 and client.table == {}
    assert run("-c", f"restore {path}") == 0
    assert client.table == saved
    assert run("-c", f"restore {path}") == 0  # again: replaces, no EEXIST


# -- monitor -----------------------------------------------------------------------------------


def test_monitor_json_prints_one_object_per_line(client):
    import threading

    out, err = io.StringIO(), io.StringIO()
    done = threading.Event()

    def produce():
        while not client.subs:
            threading.Event().wait(0.01)
        client.inject(Event(kind="new", route=route("10.8.0.0/16", oif=2), pid=0, seq=0))
        client.inject(Event(kind="del", route=route("10.0.0.0/8", gateway="10.99.0.2"), pid=0, seq=0))
        client.closed = True
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    rc = main(["-j", "-c", "monitor"], stdout=out, stderr=err, client_factory=lambda: client,
              devices=fake_devices())
    t.join()
    assert rc == 0
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["event"] for d in docs] == ["new", "del"]
    assert docs[0]["route"]["dst"] == "10.8.0.0/16" and docs[0]["origin"] == "kernel"


def test_dash_j_on_one_line_of_the_shell(client):
    from rtshell.commands import Executor
    from rtshell.render import Output

    out, err = io.StringIO(), io.StringIO()
    ex = Executor(Output("plain", file=out, err=err, devices=fake_devices()), devices=fake_devices(),
                  client_factory=lambda: client)
    assert ex.run_line("route show -j table main")
    assert ex.run_line("route show table main")
    first, second = out.getvalue().splitlines()
    assert json.loads(first)[0]["dst"] == "10.0.0.0/8"
    assert second == "10.0.0.0/8 via 10.99.0.2 proto boot"
    assert ex.run_line("-j explain route add 10.1.0.0/16 dev lo")
    assert "hex" in json.loads(out.getvalue().splitlines()[-1])["requests"][0]
    assert not ex.run_line("-j")


# -- a pipe whose reader goes ---------------------------------------------------------------


def test_a_closed_pipe_ends_rtshell_as_it_ends_ip():
    """`rtshell -c 'route show' | head -1`: killed by SIGPIPE, nothing on stderr."""
    import os
    import signal
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(here)))
    child = subprocess.Popen([sys.executable, os.path.join(here, "fake_shell.py"), "--routes", "20000", "--",
                              "-c", "route show"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = child.stdout.readline()
    child.stdout.close()  # head -1 leaves
    err = child.stderr.read()
    assert child.wait(60) == -signal.SIGPIPE
    assert first.startswith(b"10.0.0.0/24 dev dummy0") and err == b""


# -- the metric is part of the key ----------------------------------------------------------


def test_two_metrics_of_a_prefix_are_two_routes_and_del_takes_the_lowest(run, client):
    assert run("-c", "route add 10.9.0.0/16 via 10.99.0.2 metric 20") == 0
    assert run("-c", "route add 10.9.0.0/16 via 10.98.0.2 metric 10") == 0  # a second route, no EEXIST
    assert run("-c", "route add 10.9.0.0/16 via 10.97.0.2 metric 10") == 1 and "EEXIST" in run.err
    run("-c", "route show root 10.9.0.0/16")
    assert run.out.splitlines() == ["10.9.0.0/16 via 10.98.0.2 metric 10 proto boot",
                                    "10.9.0.0/16 via 10.99.0.2 metric 20 proto boot"]
    run("-c", "route get 10.9.0.0/16")
    assert run.out == "10.9.0.0/16 via 10.98.0.2 metric 10 proto boot\n"  # without a metric: the lowest
    run("-c", "route get 10.9.0.0/16 metric 20")
    assert run.out == "10.9.0.0/16 via 10.99.0.2 metric 20 proto boot\n"
    assert run("-c", "route get 10.9.1.1 metric 20") == 2 and "an address takes the lowest" in run.err
    assert run("-c", "route del 10.9.0.0/16") == 0
    assert [r.metric for r in client.table.values() if str(r.dst) == "10.9.0.0/16"] == [20]


def test_restore_of_ip_route_show_keeps_every_metric_of_a_prefix(run, client, tmp_path):
    shown = tmp_path / "shown"
    shown.write_text("10.30.0.0/16 via 10.99.0.2 dev dummy0 metric 100\n"
                     "10.30.0.0/16 via 10.98.0.2 dev dummy0 metric 200\n")
    assert run("-c", f"restore {shown}") == 0, run.err
    assert sorted(k[3] for k in client.table if str(k[2]) == "10.30.0.0/16") == [100, 200]


def test_a_staged_delete_without_a_metric_meets_the_lowest(run, client):
    client.add(route("10.40.0.0/16", gateway="10.99.0.2", metric=5))
    client.add(route("10.40.0.0/16", gateway="10.98.0.2", metric=9))
    assert run("-b", "-", stdin="begin\nroute del 10.40.0.0/16\ndiff\n") == 0
    assert "- 10.40.0.0/16 via 10.99.0.2 metric 5" in run.out and "metric 9" not in run.out
