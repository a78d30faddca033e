"""The watch model against a brute-force reference, under random event
sequences: after every step the window is sorted(filtered routes)[offset:offset+h]."""

import re
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import fake_devices, route
from rtshell.model import ResyncEvent
from rtshell import sortedkeys
from rtshell.commands.watch import WatchModel
from rtshell.model import Event, Filter, sort_key
from rtshell.words import route_text

DEV = fake_devices()
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PREFIXES = [f"10.{a}.0.0/16" for a in range(6)] + [f"2001:db8:{a}::/48" for a in range(3)] + ["10.1.0.0/24"]
routes = st.builds(lambda p, t, oif, metric: route(p, table=t, oif=oif, metric=metric),
                   st.sampled_from(PREFIXES), st.sampled_from([254, 100]), st.sampled_from([2, 3]),
                   st.sampled_from([0, 5]))
FLUSHES = [None, Filter(table=100), Filter(table=254, family=6), Filter(family=4), Filter(oif=3),
           Filter(table=100, metric=5), Filter(table=254, family=4)]
PATTERNS = [None, "dummy0", r"10\.[0-2]\.", "metric 5", "table", "2001", ""]
actions = st.lists(st.one_of(
    st.tuples(st.just("new"), routes),
    st.tuples(st.just("del"), routes),
    st.tuples(st.just("flush"), st.sampled_from(FLUSHES)),
    st.tuples(st.just("resync"), st.lists(routes, max_size=4), st.lists(routes, max_size=3),
              st.lists(routes, max_size=3)),
    st.tuples(st.just("initial"), st.lists(routes, max_size=15)),
    st.tuples(st.just("text"), st.sampled_from(PATTERNS), st.booleans()),  # True: its scan goes through
    st.tuples(st.just("step"), st.integers(1, 4)),
), min_size=10, max_size=50)
WINDOWS = [(0, 1), (0, 3), (1, 2), (2, 7), (4, 3), (100, 4)]


class Reference:
    """The obvious model: a dict, sorted and filtered on every read."""

    def __init__(self, flt):
        self.flt = flt
        self.routes = {}
        self.pattern = None

    def wants(self, r):
        return self.flt is None or self.flt.matches(r)

    def put(self, r):
        if self.wants(r):
            self.routes[sort_key(r)] = r
        else:
            self.routes.pop(sort_key(r), None)

    def apply(self, action):
        kind = action[0]
        if kind == "new":
            self.put(action[1])
        elif kind == "del":
            self.routes.pop(sort_key(action[1]), None)
        elif kind == "flush":
            flt = action[1] or Filter()
            self.routes = {k: r for k, r in self.routes.items() if not flt.matches(r)}
        elif kind == "resync":
            added, removed, changed = action[1:]
            for r in removed:
                self.routes.pop(sort_key(r), None)
            for r in added + changed:
                self.put(r)
        elif kind == "initial":
            self.routes = {sort_key(r): r for r in action[1] if self.wants(r)}
        elif kind == "text":
            self.pattern = action[1] or None

    def shown(self):
        rows = [self.routes[k] for k in sorted(self.routes)]
        if self.pattern is None:
            return rows
        return [r for r in rows if re.search(self.pattern, route_text(r, DEV))]


def event(action):
    kind = action[0]
    if kind in ("new", "del"):
        return Event(kind=kind, route=action[1])
    if kind == "flush":
        return Event(kind="flush", filter=action[1], count=1)
    if kind == "resync":
        return ResyncEvent(kind="resync", added=tuple(action[1]), removed=tuple(action[2]),
                          changed=tuple(action[3]))
    return ResyncEvent(kind="resync", added=tuple(action[1]), initial=True)


def check(model, ref):
    model.order.check()
    model.shown.check()
    assert set(model.shown) <= set(model.order) and set(model.order) == set(model.routes)
    expected = ref.shown()
    if model.searching:  # only what the text filter has looked at so far
        through = model._scanned
        expected = [r for r in expected if through is not None and sort_key(r) <= through]
    for offset, height in WINDOWS:
        win = model.window(offset, height)
        start = max(0, min(offset, len(expected) - height))
        assert win.rows == expected[start:start + height], (offset, height)
        assert win.offset == start and win.count == len(expected) and win.total == len(ref.routes)
        assert win.pattern == ref.pattern
        assert (win.searched is None) == (not model.searching)


@SETTINGS
@given(st.sampled_from([None, Filter(oif=2), Filter(table=100)]), st.lists(routes, min_size=3, max_size=20),
       actions)
def test_model_window_is_the_sorted_filtered_routes_after_every_step(flt, table, steps):
    with mock.patch.object(sortedkeys, "LOAD", 4):  # blocks split and merge with a few routes
        model = WatchModel(flt, DEV)
        ref = Reference(flt)
        check(model, ref)
        for action in [("initial", table)] + steps:
            if action[0] == "text":
                model.set_text(action[1])
                while action[2] and not model.filter_step(5):
                    pass
            elif action[0] == "step":
                model.filter_step(action[1])
            else:
                model.on_event(event(action))
            ref.apply(action)
            check(model, ref)
        while not model.filter_step(3):
            check(model, ref)
        check(model, ref)


def test_the_text_filter_reaches_events_before_and_after_its_scan():
    model = WatchModel(None, DEV)
    model.on_event(ResyncEvent(kind="resync", added=tuple(route(f"10.{i}.0.0/16", oif=2 + i % 2)
                                                          for i in range(10)), initial=True))
    model.set_text("dummy1")
    assert model.filter_step(4) is False  # 10.0-10.3 looked at
    model.on_event(Event(kind="new", route=route("10.0.0.0/16", oif=3)))  # looked at: now matches
    model.on_event(Event(kind="new", route=route("10.9.0.0/16", oif=2)))  # not yet: the scan decides
    win = model.window(0, 10)
    assert [str(r.dst) for r in win.rows] == ["10.0.0.0/16", "10.1.0.0/16", "10.3.0.0/16"]
    assert win.searched == 0.4 and win.count == 3
    while not model.filter_step(4):
        pass
    win = model.window(0, 10)
    assert [str(r.dst) for r in win.rows] == ["10.0.0.0/16", "10.1.0.0/16", "10.3.0.0/16", "10.5.0.0/16",
                                              "10.7.0.0/16"]
    assert win.searched is None and win.total == 10
    assert [ev.route.oif for _, ev in win.recent] == [3]  # only the change that matches is listed


def test_a_flush_of_a_table_drops_its_stretch_only():
    model = WatchModel(None, DEV)
    rows = [route(f"10.{i}.0.0/16", table=t, oif=2) for t in (100, 200, 300) for i in range(5)]
    rows += [route(f"2001:db8:{i}::/48", table=200, oif=2) for i in range(3)]
    model.on_event(ResyncEvent(kind="resync", added=tuple(rows), initial=True))
    model.set_text("10.[13]")
    model.filter_step()
    model.on_event(Event(kind="flush", filter=Filter(table=200, family=4), count=5))
    assert sorted({(r.table, r.family) for r in model.routes.values()}) == [(100, 4), (200, 6), (300, 4)]
    assert [(r.table, str(r.dst)) for r in model.window(0, 10).rows] == [
        (100, "10.1.0.0/16"), (100, "10.3.0.0/16"), (300, "10.1.0.0/16"), (300, "10.3.0.0/16")]
    model.on_event(Event(kind="flush", filter=None, count=13))
    assert model.window(0, 10).count == 0 and not model.routes and len(model.order) == 0
