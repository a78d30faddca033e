"""The live feed's digest: a few changes one line each, a burst one line
when it ends, long bursts noted as they go, muting counted."""

import re

from fakes import route
from rtshell.feed import BURST_GAP, BURST_NOTE, QUIET_MAX, Digest, changes_text
from rtshell.model import Event, Filter


def digest():
    names = {0: "kernel", 812: "pid 812 (bird)", 4242: "this shell"}
    return Digest(lambda ev: f"line {ev.kind} {ev.route.dst if ev.route else ''}", names.__getitem__)


def new(i, pid=812):
    return Event(kind="new", route=route(f"10.{i // 256 % 256}.{i % 256}.0/24", oif=2), pid=pid)


def test_a_few_changes_are_printed_one_by_one():
    d = digest()
    assert d.add([new(i) for i in range(QUIET_MAX)], 0.0) == [f"line new 10.0.{i}.0/24" for i in range(QUIET_MAX)]
    assert d.tick(5.0) == []


def test_a_burst_is_one_line_when_it_ends_whatever_its_size():
    d = digest()
    t = 0.0
    for start in range(0, 100_000, 500):  # 100,000 routes over 3.2 s, 500 per drain
        assert d.add([new(i) for i in range(start, start + 500)], t) == []
        t += 3.2 / 200
    dels = [Event(kind="del", route=new(1).route, pid=812), Event(kind="del", route=new(2).route, pid=812)]
    d.add(dels, t)
    assert d.tick(t + BURST_GAP / 2) == []
    (line,) = d.tick(t + BURST_GAP)
    assert line == "+100,000 -2 routes by pid 812 (bird) in 3.2 s"
    assert d.add([new(7)], t + 5) == ["line new 10.0.7.0/24"]  # after it: one by one again


def test_a_burst_counts_the_lines_printed_just_before_it():
    d = digest()
    assert d.add([new(0)], 0.0) == ["line new 10.0.0.0/24"]  # the first drain caught one
    assert d.add([new(i) for i in range(1, 20000)], 0.3) == []
    (line,) = d.tick(2.0)
    assert line == "+20,000 routes by pid 812 (bird) in 0.3 s"
    assert d.add([new(1)], 10.0) == ["line new 10.0.1.0/24"]
    assert d.add([new(i) for i in range(50)], 12.0) == []  # long after: a burst of its own
    assert d.tick(13.5) == ["+50 routes by pid 812 (bird) in 0.0 s"]


def test_origins_are_apart_and_a_long_burst_is_noted_as_it_goes():
    d = digest()
    out = d.add([new(i) for i in range(50)] + [new(900, pid=0)], 0.0)
    assert out == ["line new 10.3.132.0/24"]  # the kernel's one change is not held back
    notes = []
    for k in range(1, 26):
        notes += d.add([new(i) for i in range(50)], k * 1.0)
    assert len(notes) == 2 and all(re.fullmatch(r"\+\d[\d,]* routes by pid 812 \(bird\) so far \([\d,]+/s, going on\)", n)
                                   for n in notes), notes
    (end,) = d.tick(25 + BURST_GAP)
    assert end == "+1,300 routes by pid 812 (bird) in 25.0 s"
    assert BURST_NOTE == 10.0


def test_muted_changes_are_counted_and_said_when_unmuted():
    d = digest()
    d.add([new(i) for i in range(20)], 0.0)
    (said,) = d.mute(0.5)
    assert said == "+20 routes by pid 812 (bird) in 0.0 s (then muted)"
    assert d.add([new(i) for i in range(3)], 1.0) == []
    assert d.add([Event(kind="flush", filter=Filter(table=100), count=40, pid=0)], 2.0) == []
    (back,) = d.unmute(62.5)
    assert back == "monitor back on; 4 notifications not shown in 62 s: +3 routes, 1 flush (40 routes)"
    assert d.unmute(63.0) == []
    d.mute(70.0)
    assert d.unmute(75.0) == ["monitor back on; no notifications in 5 s"]


def test_changes_text():
    from collections import Counter

    assert changes_text(Counter(new=1)) == "+1 route"
    assert changes_text(Counter(new=2, flush=2, flushed=7)) == "+2 routes, 2 flushes (7 routes)"
    assert changes_text(Counter()) == "no changes"
