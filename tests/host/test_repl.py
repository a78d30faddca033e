"""The REPL: keystrokes through create_pipe_input, the toolbar, the lexer,
history, and background output above the prompt."""

import io
import re
import threading
import time

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from fakes import FakeClient, fake_devices, route
from rtshell import render, repl as replmod
from rtshell.commands import Executor
from rtshell.lexer import classify
from rtshell.model import Event
from rtshell.repl import AbovePrompt, Repl, history_path, make_history
from rtshell.toolbar import Toolbar, ToolbarState, hint
from rtshell.validate import check


def make(client, mode="plain", output=None, live_feed=False):
    out, err = io.StringIO(), io.StringIO()
    o = render.Output(mode, file=out, err=err, devices=fake_devices(), width=120, color=False)
    ex = Executor(o, devices=fake_devices(), client_factory=lambda: client)
    return ex, out, err, output or DummyOutput(), live_feed


def run_keys(client, keys, **kw):
    ex, out, err, output, live_feed = make(client, **kw)
    with create_pipe_input() as inp:
        inp.send_text(keys)
        inp.close()  # end of input: Ctrl-D after the keys
        r = Repl(ex, history=InMemoryHistory(), input=inp, output=output, live_feed=live_feed)
        status = r.run()
    return status, out.getvalue(), err.getvalue(), r


def run_steps(client, steps, pause=0.3, live_feed=False, ready=lambda r: True):
    """Keys sent in steps from another thread, while the prompt runs (the
    completer runs in a thread: Enter must wait for it, as a user does)."""
    ex, out, err, output, _ = make(client)
    with create_pipe_input() as inp:
        r = Repl(ex, history=InMemoryHistory(), input=inp, output=output, live_feed=live_feed)

        def typist():
            for step in steps:
                keys, until = step if isinstance(step, tuple) else (step, lambda r: True)
                deadline = time.monotonic() + 10
                while not (r.session.app.is_running and ready(r)) and time.monotonic() < deadline:
                    time.sleep(0.01)
                inp.send_text(keys)
                time.sleep(pause)
                while not until(r) and time.monotonic() < deadline:
                    time.sleep(0.01)
            inp.close()

        t = threading.Thread(target=typist)
        t.start()
        status = r.run()
        t.join()
    return status, out.getvalue(), err.getvalue(), r


def typed(text):
    """Wait until the line reads text (the completion has landed)."""
    return lambda r: r.session.app.current_buffer.text == text


@pytest.fixture
def client():
    return FakeClient([route("10.0.0.0/8", gateway="10.99.0.2")])


def test_type_a_command_and_run_it(client):
    status, out, err, _ = run_keys(client, "route add 10.5.0.0/16 dev dummy0\rroute show\r")
    assert status == 0 and err == ""
    assert "10.5.0.0/16 dev dummy0 proto boot" in out


def test_tab_completes_a_command_word(client):
    _, out, err, _ = run_steps(client, [("route sh\t", typed("route show")), "\r"])
    assert "10.0.0.0/8 via 10.99.0.2" in out and err == ""


def test_tab_completes_a_live_prefix(client):
    _, out, err, _ = run_steps(client, [("route get 10.\t", typed("route get 10.0.0.0/8")), "\r"],
                               live_feed=True,
                               ready=lambda r: r.live.prefixes())
    assert out == "10.0.0.0/8 via 10.99.0.2 proto boot\n" and err == ""


def test_question_mark_shows_help_and_leaves_the_line(client, monkeypatch):
    shown = []
    monkeypatch.setattr(Repl, "_show_rows", lambda self, title, rows: shown.append((title, rows)))
    _, out, err, _ = run_keys(client, "route ?add 10.5.0.0/16 dev dummy0\r")
    assert err == ""
    assert (254, 4, route("10.5.0.0/16").dst, 0) in client.table  # no '?' in the line
    (title, rows), = shown
    assert title == "route ?" and ("add", "add a route (fails if the key exists)") in rows


def test_question_mark_inside_quotes_is_typed(client, monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(Repl, "_show_rows", lambda self, title, rows: shown.append(title))
    target = tmp_path / "what?.rt"
    _, out, err, _ = run_keys(client, f"save '{target}'\r")
    assert shown == [] and target.exists()


def test_ctrl_c_cancels_the_line(client):
    status, out, err, _ = run_keys(client, "route add bogus\x03route show\r")
    assert err == "" and "10.0.0.0/8" in out


def test_ctrl_d_leaves(client):
    status, out, err, _ = run_keys(client, "\x04route show\r")
    assert out == "" and status == 0


def test_exit_leaves(client):
    _, out, _, _ = run_keys(client, "exit\rroute show\r")
    assert out == ""


def test_an_exception_prints_one_line_and_the_prompt_returns(client):
    def broken(flt=None):
        raise RuntimeError("boom")
        yield

    client.dump = broken
    status, out, err, _ = run_keys(client, "route show\rroute get 10.0.0.0/8\r")
    assert err == "error: route show: internal error: RuntimeError: boom\n"
    assert out == "10.0.0.0/8 via 10.99.0.2 proto boot\n" and status == 0


def test_ctrl_c_during_a_large_show_returns_to_the_prompt(client):
    closed = []

    def big(flt=None):
        try:
            for i in range(10_000):
                if i == 300:
                    raise KeyboardInterrupt  # what SIGINT does in the foreground
                yield route(f"10.{i // 256}.{i % 256}.0/24", oif=2)
        finally:
            closed.append(True)

    client.dump = big
    status, out, err, _ = run_keys(client, "route show\rroute get 10.0.0.0/8\r")
    assert "route show: interrupted" in err
    assert closed == [True]  # the dump iterator was closed
    assert out.splitlines()[-1] == "10.0.0.0/8 via 10.99.0.2 proto boot"
    assert status == 0


def test_grammar_error_points_at_the_word(client):
    _, out, err, _ = run_keys(client, "route add 10.0.0.0/8 dev eth9\r")
    assert err.splitlines() == ["  route add 10.0.0.0/8 dev eth9", "                           ^^^^",
                                "error: 'dev': unknown device 'eth9'"]


def test_transaction_prompt(client):
    _, _, _, r = run_keys(client, "begin\rroute add 10.5.0.0/16 dev dummy0\r")
    assert r.message() == [("class:prompt.txn", "rtshell(txn 1)> ")]


# -- background output above the prompt ----------------------------------------------------


def test_notification_appears_above_the_prompt_while_typing(client):
    buf = io.StringIO()
    vt = Vt100_Output(buf, lambda: Size(rows=40, columns=120), term="xterm")
    ex, out, err, _, _ = make(client)
    seen = threading.Event()
    shown = []  # the screen just after the notification
    with create_pipe_input() as inp:
        r = Repl(ex, history=InMemoryHistory(), input=inp, output=vt, live_feed=True)

        def other_process():
            deadline = time.monotonic() + 10
            while not (r.session.app.is_running and client.subs) and time.monotonic() < deadline:
                time.sleep(0.02)
            inp.send_text("route sh")
            time.sleep(0.2)
            client.inject(Event(kind="new", route=route("10.8.0.0/16", oif=2), pid=0, seq=0))
            while "10.8.0.0/16" not in buf.getvalue() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)
            shown.append(buf.getvalue())
            seen.set()
            inp.send_text("ow\r")
            time.sleep(0.3)
            inp.close()

        t = threading.Thread(target=other_process)
        t.start()
        r.run()
        t.join()
    assert seen.is_set()
    screen = buf.getvalue()
    assert "+ 10.8.0.0/16 dev dummy0 proto boot" in screen and "by kernel" in screen
    after = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown[0][shown[0].index("10.8.0.0/16"):])
    assert "rtshell> " in after and "route sh" in after  # the prompt drawn again below it, with the line typed
    assert "10.0.0.0/8 via 10.99.0.2" in out.getvalue()  # the line typed around it still ran


def test_live_feed_prints_events_with_their_origin_and_counts(client):
    ex, out, err, _, _ = make(client)
    r = Repl(ex, history=InMemoryHistory(), input=None, output=DummyOutput(), live_feed=True)
    r.feed.start()
    try:
        deadline = time.monotonic() + 5
        while r.state.connection is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.state.routes4 == 1
        client.add(route("10.6.0.0/16", oif=2))  # from this shell's own client
        while "10.6.0.0/16" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "+ 10.6.0.0/16 dev dummy0 proto boot  by this shell" in out.getvalue()
        while "10.6.0.0/16" not in [p for p, _ in r.live.prefixes()] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p for p, _ in r.live.prefixes()] == ["10.0.0.0/8", "10.6.0.0/16"]
        assert r.state.rate.rate() > 0
    finally:
        r.feed.stop()


def test_live_feed_sums_up_a_burst_and_can_be_muted(client):
    ex, out, err, _, _ = make(client)
    r = Repl(ex, history=InMemoryHistory(), input=None, output=DummyOutput(), live_feed=True)
    for i in range(10):
        r.feed._queue.append(Event(kind="new", route=route(f"10.{i}.0.0/16", oif=2), pid=0))
    r.feed._drain(100.0)
    assert out.getvalue() == ""  # a burst: nothing yet
    r.feed._drain(101.5)  # quiet for longer than BURST_GAP: one line
    (line,) = out.getvalue().splitlines()
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] \+10 routes by kernel in 0\.0 s", line), line
    assert ex.run_line("terminal no monitor")
    r.feed.on_event(Event(kind="new", route=route("10.67.0.0/16", oif=2), pid=0))
    r.feed._drain(time.monotonic())
    assert "10.67.0.0" not in out.getvalue()
    assert ex.run_line("terminal monitor")
    assert re.search(r"monitor back on; 1 notification not shown in \d+ s: \+1 route$", out.getvalue(), re.M)


def test_live_feed_leaves_this_shells_changes_to_the_bar_of_its_long_work(client):
    ex, out, err, _, _ = make(client)
    r = Repl(ex, history=InMemoryHistory(), input=None, output=DummyOutput(), live_feed=True)
    own, other = next(iter(ex.own_ports())), 812
    ex.output.work = object()  # a batch draws its bar
    for i in range(20):
        r.feed.on_event(Event(kind="new", route=route(f"10.{i}.0.0/16", oif=2), pid=own, seq=i + 1))
    r.feed.on_event(Event(kind="new", route=route("10.99.0.0/16", oif=2), pid=other, seq=7))
    ex.output.work = None
    ex.bar_seq = 21  # the work ended with its 21st request: its last notifications are on their way
    r.feed.on_event(Event(kind="new", route=route("10.20.0.0/16", oif=2), pid=own, seq=21))
    r.feed.on_event(Event(kind="new", route=route("10.98.0.0/16", oif=2), pid=own, seq=22))
    r.feed._drain(100.0)
    lines = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in out.getvalue().splitlines()]
    assert lines == ["+ 10.99.0.0/16 dev dummy0 proto boot  by port 812",  # another process's: shown
                     "+ 10.98.0.0/16 dev dummy0 proto boot  by this shell"]  # its own after the work: shown
    assert [p for p, _ in r.live.prefixes()][-3:] == ["10.20.0.0/16", "10.98.0.0/16", "10.99.0.0/16"]  # TAB knows all


def test_long_work_marks_the_changes_it_made(client):
    ex, _, _, _, _ = make(client)
    ex.client.add(route("10.1.0.0/16", oif=2))
    before = client.last_seq
    with ex.work("batch test", 2):
        ex.client.add(route("10.2.0.0/16", oif=2))
        ex.client.add(route("10.3.0.0/16", oif=2))
    assert ex.bar_seq == client.last_seq == before + 2
    assert ex.made_under_a_bar(before + 1) and ex.made_under_a_bar(before + 2)
    assert not ex.made_under_a_bar(before + 3)
    ex.bar_seq = 3  # sequence numbers wrap: 2**32 - 1 came just before 1
    assert ex.made_under_a_bar(2**32 - 1) and ex.made_under_a_bar(3) and not ex.made_under_a_bar(4)


def test_live_feed_reports_a_missing_module():
    from fakes import failing_factory

    o = render.Output("plain", file=io.StringIO(), err=io.StringIO(), devices=fake_devices())
    ex = Executor(o, devices=fake_devices(), client_factory=failing_factory())
    r = Repl(ex, history=InMemoryHistory(), input=None, output=DummyOutput(), live_feed=True)
    r.feed._connect()
    assert r.state.connection == "not connected: EPROTONOSUPPORT"


def test_above_prompt_without_a_running_app_writes_through_the_output(client):
    ex, out, _, _, _ = make(client)
    r = Repl(ex, history=InMemoryHistory(), input=None, output=DummyOutput(), live_feed=False)
    AbovePrompt(r.session.app, ex.output).print_text(">> send 48 bytes")
    assert out.getvalue() == ">> send 48 bytes\n"


def test_trace_goes_to_the_background_printer(client):
    ex, out, err, _, _ = make(client)
    lines = []
    ex.background = lines.append
    assert ex.run_line("trace on")
    assert ex.run_line("stats")
    assert ex.run_line("trace off")
    assert any(line.startswith(">> send") for line in lines)
    assert any(line.startswith("<< recv") for line in lines)
    assert client.trace is None


# -- toolbar, validation, lexer ---------------------------------------------------------------


def test_inline_validation():
    from rtshell.commands.executor import Context

    ctx = Context(fake_devices())
    assert check("route add 10.0.0.0/8 dev dummy0", ctx) is None
    p = check("route add 10.0.0.1/8 dev dummy0", ctx)
    assert "host bits set" in p.message and not p.incomplete and (p.start, p.end) == (10, 20)
    p = check("route add 10.0.0.0/33 dev dummy0", ctx)
    assert "out of range 0..32" in p.message
    assert "unknown device" in check("route add 10.0.0.0/8 dev eth9", ctx).message
    assert "is IPv6, but" in check("route add 10.0.0.0/8 via 2001:db8::1", ctx).message
    p = check("route add 10.0.0.0/8 via ", ctx)
    assert p.incomplete and "needs a gateway address" in p.message
    assert check("route add 10.0.0.0/8 dev dummy0 ?", ctx) is None
    assert "unknown device" in check("explain route add 10.0.0.0/8 dev eth9", ctx).message
    assert check("   ", ctx) is None


def test_toolbar_fragments():
    state = ToolbarState()
    state.set_counts(12, 3)
    state.set_connection(None)
    state.pending = lambda: 2
    state.txn = lambda: 4
    state.tracing = lambda: True
    from rtshell.commands.executor import Context

    ctx = Context(fake_devices())
    tb = Toolbar(state, lambda text: check(text, ctx))
    frags = tb.fragments("route add 10.0.0.1/8 dev dummy0")
    assert frags[0][0] == "class:toolbar.error" and "host bits set" in frags[0][1]
    assert frags[-1][1] == "v4 12  v6 3 | 0.0 ev/s | pending 2 | txn 4 staged | trace"
    frags = tb.fragments("route add 10.0.0.0/8 via")
    assert frags[0][0] == "class:toolbar.incomplete"
    frags = tb.fragments("route add 10.0.0.0/8 via 10.99.0.2")
    assert frags[0] == ("class:toolbar.hint", hint("route add"))
    assert hint("route add").startswith("route add [unicast|")
    state.set_connection("not connected: EPROTONOSUPPORT")
    assert tb.status().startswith("not connected: EPROTONOSUPPORT")


def test_lexer_roles():
    from rtshell.commands.executor import Context

    conv = Context(fake_devices()).convert
    pieces = classify("route add 10.0.0.0/8 dev eth9 metric 5  # why", conv)
    roles = [(r, t) for r, t in pieces if r != "space"]
    assert roles == [("command", "route"), ("command", "add"), ("value", "10.0.0.0/8"), ("keyword", "dev"),
                     ("error", "eth9"), ("keyword", "metric"), ("value", "5"), ("comment", "# why")]
    assert "".join(t for _, t in pieces) == "route add 10.0.0.0/8 dev eth9 metric 5  # why"
    assert [r for r, _ in classify("bogus words")] == ["error", "space", "error"]


# -- history ----------------------------------------------------------------------------------------


def test_history_path():
    assert history_path({"XDG_STATE_HOME": "/x"}) == "/x/rtshell/history"
    assert history_path({}).endswith("/.local/state/rtshell/history")


def test_history_file_is_created_and_kept(tmp_path):
    path = tmp_path / "state" / "rtshell" / "history"
    h = make_history(str(path))
    h.store_string("route show")
    assert "route show" in path.read_text()


def test_history_falls_back_to_memory_silently(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    h = make_history(str(blocker / "rtshell" / "history"))  # a parent that is a file: cannot be made
    assert isinstance(h, InMemoryHistory)
    h.store_string("route show")
    broken = replmod.SafeFileHistory(str(tmp_path))  # a directory: every write fails
    broken.store_string("route show")
    assert list(broken.load_history_strings()) == []


def test_client_warnings_are_printed_above_the_prompt(client):
    import logging

    ex, out, err, _, _ = make(client)
    with create_pipe_input() as inp:
        inp.close()
        r = Repl(ex, history=InMemoryHistory(), input=inp, output=DummyOutput(), live_feed=False)
        handler = replmod.LogToPrinter(r.printer)
        logging.getLogger("rtshell.client").addHandler(handler)
        try:
            logging.getLogger("rtshell.client").error("resync after notification overrun failed: %s", "EINTR")
        finally:
            logging.getLogger("rtshell.client").removeHandler(handler)
    assert out.getvalue() == "error: resync after notification overrun failed: EINTR\n"


def test_a_flush_of_more_than_one_table_asks_first(client):
    client.table[(100, 4, route("10.7.0.0/16").dst, 0)] = route("10.7.0.0/16", oif=2, table=100)
    screen = io.StringIO()
    vt = Vt100_Output(screen, lambda: Size(rows=40, columns=160), term="xterm")
    status, out, err, _ = run_keys(client, "route flush all table all\rn\r", output=vt)
    assert "acts on 2 tables holding 2 routes; go on? [y/N]" in screen.getvalue()
    assert "nothing flushed" in out
    assert len(client.table) == 2
    status, out, err, _ = run_keys(client, "route flush all table all\ry\r")
    assert status == 0 and client.table == {}


def test_a_flush_of_one_table_does_not_ask(client):
    client.table[(100, 4, route("10.7.0.0/16").dst, 0)] = route("10.7.0.0/16", oif=2, table=100)
    status, out, err, _ = run_keys(client, "route flush all\r")
    assert status == 0 and "go on?" not in out
    assert [k[0] for k in client.table] == [100]  # main only, as ip route flush
