"""`watch`: the model kept by notifications, and the foreground loop."""

import io

import pytest

from fakes import FakeClient, FakeResync, fake_devices, route
from rtshell import render
from rtshell.commands import Executor
from rtshell.commands import watch as watchmod
from rtshell.commands.watch import Rate, WatchModel
from rtshell.model import Event, Filter


def test_rate_over_a_window():
    now = [100.0]
    r = Rate(window=5.0, clock=lambda: now[0])
    for _ in range(10):
        r.tick()
    assert r.rate() == 2.0
    now[0] += 6
    assert r.rate() == 0.0


def test_model_follows_events_and_its_filter():
    m = WatchModel(Filter(oif=2))
    m.on_event(FakeResync(kind="resync", added=(route("10.0.0.0/8", oif=2), route("10.1.0.0/16", oif=3)),
                          initial=True))
    assert m.ready.is_set()
    win = m.window(0, 10)
    assert [str(r.dst) for r in win.rows] == ["10.0.0.0/8"] and win.total == 1 and win.recent == []
    m.on_event(Event(kind="new", route=route("10.2.0.0/16", oif=2)))
    m.on_event(Event(kind="new", route=route("10.0.0.0/8", oif=3)))  # changed out of the filter
    assert [str(r.dst) for r in m.window(0, 10).rows] == ["10.2.0.0/16"]
    m.on_event(Event(kind="flush", filter=Filter(oif=2), count=1))
    assert m.window(0, 10).total == 0
    m.on_event(FakeResync(kind="resync", added=(route("10.3.0.0/16", oif=2),), removed=(), changed=()))
    win = m.window(0, 10)
    assert win.total == 1 and "overran" in win.notice and "+1 -0 ~0" in win.notice


def test_model_window_is_a_screen_in_kernel_order_at_any_offset():
    m = WatchModel(None)
    m.on_event(FakeResync(kind="resync", added=tuple(route(f"10.{i}.0.0/16", oif=2) for i in range(200, 0, -1)),
                          initial=True))
    win = m.window(0, 3)
    assert [str(r.dst) for r in win.rows] == ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"] and win.count == 200
    win = m.window(100, 2)
    assert [str(r.dst) for r in win.rows] == ["10.101.0.0/16", "10.102.0.0/16"] and win.offset == 100
    win = m.window(199, 3)  # past the end: the last full screen
    assert [str(r.dst) for r in win.rows] == ["10.198.0.0/16", "10.199.0.0/16", "10.200.0.0/16"]
    assert win.offset == 197


def test_watch_runs_until_ctrl_c_and_unsubscribes(monkeypatch):
    client = FakeClient([route("10.0.0.0/8", oif=2)])
    f = io.StringIO()
    out = render.Output("rich", file=f, err=io.StringIO(), devices=fake_devices(), width=100, color=True)
    ex = Executor(out, devices=fake_devices(), client_factory=lambda: client)
    ticks = []

    def sleep(seconds):
        ticks.append(seconds)
        if len(ticks) == 2:
            client.add(route("10.9.0.0/16", oif=3))
        if len(ticks) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(watchmod.time, "sleep", sleep)
    assert ex.run_line("watch")
    screen = f.getvalue()
    assert "10.0.0.0/8" in screen and "10.9.0.0/16" in screen and "dummy1" in screen
    assert client.subs == []  # the subscription is closed


def test_watch_needs_a_terminal():
    client = FakeClient()
    e = io.StringIO()
    out = render.Output("plain", file=io.StringIO(), err=e, devices=fake_devices())
    ex = Executor(out, devices=fake_devices(), client_factory=lambda: client)
    assert not ex.run_line("watch")
    assert "watch needs a terminal" in e.getvalue()


@pytest.mark.parametrize("line", ["monitor", "watch"])
def test_explain_of_a_subscription_sends_nothing(line):
    f = io.StringIO()
    out = render.Output("plain", file=f, err=io.StringIO(), devices=fake_devices())
    ex = Executor(out, devices=fake_devices(), client_factory=lambda: FakeClient())
    assert ex.run_line(f"explain {line}")
    assert "no request is sent" in f.getvalue()
