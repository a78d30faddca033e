"""`watch`: the model kept by notifications, and the foreground loop."""

import io
import re

import pytest

from fakes import FakeClient, fake_devices, route
from rtshell.model import ResyncEvent
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
    m.on_event(ResyncEvent(kind="resync", added=(route("10.0.0.0/8", oif=2), route("10.1.0.0/16", oif=3)),
                          initial=True))
    assert m.ready.is_set()
    win = m.window(0, 10)
    assert [str(r.dst) for r in win.rows] == ["10.0.0.0/8"] and win.total == 1 and win.recent == []
    m.on_event(Event(kind="new", route=route("10.2.0.0/16", oif=2)))
    m.on_event(Event(kind="new", route=route("10.0.0.0/8", oif=3)))  # changed out of the filter
    assert [str(r.dst) for r in m.window(0, 10).rows] == ["10.2.0.0/16"]
    m.on_event(Event(kind="flush", filter=Filter(oif=2), count=1))
    assert m.window(0, 10).total == 0
    m.on_event(ResyncEvent(kind="resync", added=(route("10.3.0.0/16", oif=2),), removed=(), changed=()))
    win = m.window(0, 10)
    assert win.total == 1 and "overran" in win.notice and "+1 -0 ~0" in win.notice


def test_model_window_is_a_screen_in_kernel_order_at_any_offset():
    m = WatchModel(None)
    m.on_event(ResyncEvent(kind="resync", added=tuple(route(f"10.{i}.0.0/16", oif=2) for i in range(200, 0, -1)),
                          initial=True))
    win = m.window(0, 3)
    assert [str(r.dst) for r in win.rows] == ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"] and win.count == 200
    win = m.window(100, 2)
    assert [str(r.dst) for r in win.rows] == ["10.101.0.0/16", "10.102.0.0/16"] and win.offset == 100
    win = m.window(199, 3)  # past the end: the last full screen
    assert [str(r.dst) for r in win.rows] == ["10.198.0.0/16", "10.199.0.0/16", "10.200.0.0/16"]
    assert win.offset == 197


def screen_of(n, lines=20, **kw):
    """A WatchScreen over n routes 10.0.i.0/24, viewed once on a screen of `lines` lines."""
    m = WatchModel(None, fake_devices())
    m.on_event(ResyncEvent(kind="resync", added=tuple(route(f"10.{i // 256}.{i % 256}.0/24", oif=2 + i % 2)
                                                     for i in range(n)), initial=True))
    screen = watchmod.WatchScreen(m, "watch all tables", fake_devices(), **kw)
    screen.view(lines, 0.0)
    return screen


def shown(screen, lines=20):
    """The header and the destinations of the routes on the screen."""
    view, _ = screen.view(lines, 0.0)
    text = render.to_ansi(view, 120, color=False)
    dsts = [w for line in text.splitlines() for w in line.split()[:1] if w.startswith("10.") and "/" in w]
    return text.splitlines()[0], text, dsts


def test_screen_rows_fit_the_terminal():
    screen = screen_of(100, lines=20)
    head, text, dsts = shown(screen)
    assert screen.height == 20 - watchmod.CHROME - watchmod.RECENT == 9
    assert dsts == [f"10.0.{i}.0/24" for i in range(9)]
    assert "rows 1-9 of 100" in head
    assert len(text.splitlines()) <= 20


def test_scrolling_keys_and_their_bounds():
    screen = screen_of(100)
    steps = [("pagedown", 9), ("pagedown", 18), ("down", 19), ("up", 18), ("end", 91), ("pagedown", 91),
             ("down", 91), ("pageup", 82), ("home", 0), ("up", 0), ("pageup", 0)]
    for key, offset in steps:
        screen.press(key)
        head, _, dsts = shown(screen)
        assert screen.offset == offset, key
        assert dsts == [f"10.0.{i}.0/24" for i in range(offset, offset + 9)], key
        assert f"rows {offset + 1}-{offset + 9} of 100" in head, key


def test_scrolling_a_table_shorter_than_the_screen_stays_at_the_top():
    screen = screen_of(4)
    for key in ("pagedown", "end", "down"):
        screen.press(key)
        assert screen.offset == 0
    head, _, dsts = shown(screen)
    assert dsts == [f"10.0.{i}.0/24" for i in range(4)] and "rows 1-4 of 4" in head


def test_the_offset_follows_a_table_that_shrinks():
    screen = screen_of(100)
    screen.press("end")
    screen.model.on_event(Event(kind="flush", filter=Filter(oif=3), count=50))  # the odd ones go
    head, _, dsts = shown(screen)
    assert screen.offset == 41 and "rows 42-50 of 50" in head
    assert dsts == [f"10.0.{i}.0/24" for i in range(82, 100, 2)]


def type_keys(screen, text):
    for ch in text:
        screen.press(ch)


def test_the_live_filter_typed_after_a_slash():
    screen = screen_of(600)
    screen.press("pagedown")
    screen.press("/")
    type_keys(screen, r"10\.1\.5")
    head, text, _ = shown(screen)
    assert "filter: /10\\.1\\.5" in text and "Enter applies" in text
    screen.press("q")  # a letter of the filter while typing, not the end
    screen.press("c-h")
    assert not screen.done and screen.typing == r"10\.1\.5"
    screen.press("c-m")
    assert screen.typing is None and screen.offset == 0 and screen.model.pattern == r"10\.1\.5"
    while not screen.model.filter_step(100):
        pass
    head, _, dsts = shown(screen)
    expected = ["10.1.5.0/24"] + [f"10.1.{i}.0/24" for i in range(50, 60)]
    assert dsts[:9] == expected[:9] and f"rows 1-9 of {len(expected)} matching /10\\.1\\.5/ (of 600)" in head
    screen.press("end")
    _, _, dsts = shown(screen)
    assert dsts == expected[-9:]
    # a new route that matches comes in; one that does not stays out
    screen.model.on_event(Event(kind="new", route=route("10.1.5.128/25", oif=2)))
    screen.model.on_event(Event(kind="new", route=route("10.1.6.128/25", oif=2)))
    screen.press("home")
    _, _, dsts = shown(screen)
    assert dsts[:2] == ["10.1.5.0/24", "10.1.5.128/25"] and "10.1.6.128/25" not in dsts
    # '/' again edits the filter in place; Esc clears it
    screen.press("/")
    assert screen.typing == r"10\.1\.5"
    screen.press("escape")
    head, _, dsts = shown(screen)
    assert screen.model.pattern is None and "rows 1-9 of 602" in head and dsts[0] == "10.0.0.0/24"


def test_a_filter_that_is_no_regular_expression_says_so_in_one_line():
    screen = screen_of(50)
    screen.press("/")
    type_keys(screen, "10.[1")
    screen.press("c-m")
    assert screen.typing == "10.[1" and screen.model.pattern is None
    _, text, dsts = shown(screen)
    line = [ln for ln in text.splitlines() if "not a regular expression" in ln]
    assert len(line) == 1 and "unterminated character set" in line[0] and len(dsts) == 9
    type_keys(screen, "]")
    screen.press("c-m")
    assert screen.model.pattern == "10.[1]" and screen.message is None
    screen.press("escape")
    screen.press("/")
    screen.press("c-m")  # an empty filter is none
    assert screen.model.pattern is None and screen.typing is None


def test_a_text_filter_on_a_large_table_shows_what_it_found_so_far():
    screen = screen_of(5000)
    screen.press("/")
    type_keys(screen, "dummy1")
    screen.press("c-m")
    screen.model.filter_step(1000)
    head, _, dsts = shown(screen)
    assert "20% searched" in head and "of 500 matching /dummy1/" in head
    assert dsts == [f"10.0.{i}.0/24" for i in range(1, 18, 2)]
    while not screen.model.filter_step(1000):
        pass
    head, _, _ = shown(screen)
    assert "rows 1-9 of 2,500 matching /dummy1/ (of 5,000)" in head and "searched" not in head


class ScriptedKeys:
    """Keys for run_watch: each read runs the next step (a list of keys, or a
    function that changes the table) and moves the clock on by `tick`."""

    def __init__(self, steps, tick=0.3):
        self.steps = list(steps)
        self.now = 1000.0
        self.tick = tick
        self.entered = self.left = False

    def clock(self):
        return self.now

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.left = True

    def read(self, timeout):
        self.now += self.tick
        step = self.steps.pop(0) if self.steps else ["c-c"]
        if callable(step):
            step()
            return []
        return step


def run_scripted(monkeypatch, client, steps, tick=0.3, line="watch", lines=30):
    keys = ScriptedKeys(steps, tick)
    f = io.StringIO()
    out = render.Output("rich", file=f, err=io.StringIO(), devices=fake_devices(), width=100, color=True)
    out.console.size = (100, lines)
    ex = Executor(out, devices=fake_devices(), client_factory=lambda: client)
    real = watchmod.run_watch
    monkeypatch.setattr(watchmod, "run_watch", lambda ex, flt: real(ex, flt, keys=keys, clock=keys.clock))
    assert ex.run_line(line)
    return f.getvalue(), keys


def test_watch_scrolls_with_keys_until_q_and_unsubscribes(monkeypatch):
    client = FakeClient([route(f"10.0.{i}.0/24", oif=2) for i in range(100)])
    screen, keys = run_scripted(monkeypatch, client, [
        [], lambda: client.add(route("10.9.0.0/16", oif=3)), [], ["pagedown", "pagedown"], [], ["q"],
        ["never read"]])
    assert keys.entered and keys.left and keys.steps == [["never read"]]
    assert "10.9.0.0/16" in screen and "dummy1" in screen  # the added route, in the list of changes
    assert "rows 1-19 of 101" in screen and "rows 39-57 of 101" in screen and "10.0.56.0/24" in screen
    assert client.subs == []  # the subscription is closed


def test_watch_ends_at_ctrl_c_as_a_key(monkeypatch):
    client = FakeClient([route("10.0.0.0/8", oif=2)])
    screen, keys = run_scripted(monkeypatch, client, [[], ["c-c"], ["never read"]])
    assert keys.steps == [["never read"]] and "10.0.0.0/8" in screen and client.subs == []


def test_redraws_are_bounded_whatever_the_event_rate(monkeypatch):
    client = FakeClient([route("10.0.0.0/8", oif=2)])
    n = [0]

    def flood():
        for _ in range(200):  # 200 events per 10 ms: 20,000 events/s
            n[0] += 1
            client.add(route(f"10.{1 + n[0] // 256 % 250}.{n[0] % 256}.0/24", oif=2))

    steps = [flood] * 200  # two seconds of it
    screen, _ = run_scripted(monkeypatch, client, steps, tick=0.01)
    frames = screen.count("events/s")
    assert 2 / watchmod.REFRESH <= frames <= 2 / watchmod.REFRESH + 2, frames
    counts = [int(c.replace(",", "")) for c in re.findall(r"rows 1-19 of ([\d,]+)", screen)]
    assert counts == sorted(counts) and 40_001 - 200 * watchmod.REFRESH / 0.01 <= counts[-1] <= 40_001


def test_keys_are_shown_soon_after_they_are_pressed(monkeypatch):
    client = FakeClient([route(f"10.0.{i}.0/24", oif=2) for i in range(100)])
    screen, _ = run_scripted(monkeypatch, client, [["pagedown"], ["pagedown"], ["pagedown"]], tick=0.05)
    for first in (20, 39, 58):
        assert f"rows {first}-" in screen  # each press drawn, though 0.05 s apart (< REFRESH)


def test_terminal_keys_in_raw_mode_restore_the_terminal():
    import os
    import termios

    master, slave = os.openpty()
    try:
        os.set_blocking(slave, False)  # as QEMU leaves the console
        before = termios.tcgetattr(slave)
        now = [0.0]
        with watchmod.TerminalKeys(slave, clock=lambda: now[0]) as keys:
            assert not termios.tcgetattr(slave)[3] & termios.ICANON
            assert keys.read(0.0) == []
            os.write(master, b"\x1b[6~\x1b[5~\x1b[H\x1b[F\x1b[A\x1b[B/x\r\x7fq\x03")
            assert keys.read(1.0) == ["pagedown", "pageup", "home", "end", "up", "down", "/", "x", "c-m", "c-h",
                                      "q", "c-c"]
            os.write(master, b"\x1b")
            assert keys.read(1.0) == []  # an Esc alone may begin a sequence...
            now[0] += watchmod.ESC_WAIT
            assert keys.read(0.0) == ["escape"]  # ...until nothing follows it
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_without_a_terminal_for_keys_watch_only_waits(monkeypatch):
    slept = []
    monkeypatch.setattr(watchmod.time, "sleep", slept.append)
    ex = Executor(render.Output("plain", file=io.StringIO()), devices=fake_devices())
    source = watchmod.terminal_keys(ex)  # pytest's stdin is no terminal
    assert isinstance(source, watchmod.NoKeys)
    with source:
        assert source.read(0.25) == [] and slept == [0.25]


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
