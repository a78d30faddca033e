"""Renderers into captured rich Consoles and StringIO: tables, text, JSON,
events with their origin, and streaming of large dumps."""

import io
import ipaddress
import json
import os

import pytest

from fakes import fake_devices, route
from rtshell import render
from rtshell.model import Event, Filter, LookupResult, Match, NextHop, Route, RouteType, Stats, TableStats

DEV = fake_devices()
A = ipaddress.ip_address


def out(mode, width=120):
    f, e = io.StringIO(), io.StringIO()
    return render.Output(mode, file=f, err=e, devices=DEV, width=width, color=False), f, e


MULTI = route("10.200.0.0/16", nexthops=(NextHop(A("10.99.0.2"), 2, 1), NextHop(A("10.98.0.2"), 3, 5)))


@pytest.mark.parametrize("r,text", [
    (route("10.0.0.0/8", gateway="10.99.0.2"), "10.0.0.0/8 via 10.99.0.2 proto boot"),
    (route("0.0.0.0/0", oif=2, metric=10, table=100, proto=186),
     "default dev dummy0 metric 10 table 100 proto bgp"),
    (route("::/0", gateway="2001:db8::1", oif=3, proto=0), "default via 2001:db8::1 dev dummy1"),
    (route("::/0", oif=3, proto=0), "default dev dummy1 -6"),
    (route("192.0.2.0/24", type="blackhole", table=255), "blackhole 192.0.2.0/24 table local proto boot"),
    (route("10.1.0.0/16", oif=9), "10.1.0.0/16 dev if9 proto boot"),
    (MULTI, "10.200.0.0/16 proto boot nexthop via 10.99.0.2 dev dummy0 weight 1 "
            "nexthop via 10.98.0.2 dev dummy1 weight 5"),
])
def test_route_text(r, text):
    assert render.route_text(r, DEV) == text


def test_route_text_parses_back_to_the_same_route():
    from rtshell.commands import parse
    from rtshell.commands.executor import Context

    ctx = Context(DEV)
    for r in (route("10.0.0.0/8", gateway="10.99.0.2", metric=4, table=100), MULTI,
              route("::/0", oif=2), route("2001:db8::/48", type="prohibit")):
        (req,) = parse("route add " + render.route_text(r, DEV), ctx).request
        assert req.args[0] == r


def test_route_json_fields():
    obj = render.route_json(MULTI, DEV)
    assert obj["dst"] == "10.200.0.0/16" and obj["family"] == 4 and obj["gateway"] is None
    assert obj["dev"] is None and obj["metric"] == 0 and obj["table"] == "main"
    assert obj["type"] == "unicast" and obj["protocol"] == "boot"
    assert obj["nexthops"] == [{"gateway": "10.99.0.2", "dev": "dummy0", "weight": 1},
                               {"gateway": "10.98.0.2", "dev": "dummy1", "weight": 5}]
    assert render.route_json(route("::/0", oif=3), DEV)["family"] == 6


def test_filter_text():
    flt = Filter(family=4, table=100, oif=2, prefix=ipaddress.ip_network("10.0.0.0/8"), match=Match.ROOT)
    assert render.filter_text(flt, DEV) == "root 10.0.0.0/8 dev dummy0 table 100"
    assert render.filter_text(Filter(family=6), DEV) == "-6"
    assert render.filter_text(None) == ""


def test_rich_table_of_routes():
    o, f, _ = out("rich")
    n = o.routes([route("10.0.0.0/8", gateway="10.99.0.2"), MULTI])
    text = f.getvalue()
    assert n == 2
    lines = text.splitlines()
    assert lines[0].split() == ["Destination", "Gateway", "Dev", "Metric", "Table", "Type", "Proto"]
    assert "10.0.0.0/8" in text and "via 10.98.0.2 dev dummy1 weight 5" in text
    assert lines[-1] == "2 routes"


def test_rich_empty_table():
    o, f, _ = out("rich")
    assert o.routes([]) == 0
    assert f.getvalue().strip() == "no routes"


def test_rich_streams_in_chunks_with_stable_columns():
    """The first chunk is written before the dump iterator is finished, and
    every chunk keeps the columns of the first (a new header only when
    wider columns are needed)."""
    o, f, _ = out("rich")
    seen_early = []

    def routes():
        for i in range(render.CHUNK * 3):
            if i == 100:
                seen_early.append(f.getvalue())
            yield route(f"10.{i // 256}.{i % 256}.0/24", gateway="10.99.0.2", metric=i)
        yield route("2001:db8:aaaa:bbbb:cccc:dddd::/96", oif=2)

    n = o.routes(routes())
    assert n == render.CHUNK * 3 + 1
    assert "10.0.0.0/24" in seen_early[0]  # the first screen before the dump ended
    lines = f.getvalue().splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("Destination")]
    assert len(headers) == 2  # again only for the section that needs wider columns
    for section in (lines[headers[0]:headers[1]], lines[headers[1]:]):
        rows = [line for line in section if line.startswith("10.")]
        assert len({line.index("10.99.0.2") for line in rows}) == 1


def test_plain_streaming_does_not_hold_the_table(monkeypatch):
    o, f, _ = out("plain")
    sizes = []

    def routes():
        for i in range(1000):
            sizes.append(len(f.getvalue()))
            yield route(f"10.{i // 256}.{i % 256}.0/24", oif=2)

    assert o.routes(routes()) == 1000
    assert sizes[500] > 0 and len(f.getvalue().splitlines()) == 1000


def test_json_routes_is_one_array_on_one_line_even_when_interrupted():
    o, f, _ = out("json")

    def routes():
        yield route("10.0.0.0/8", oif=2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        o.routes(routes())
    assert json.loads(f.getvalue()) == [render.route_json(route("10.0.0.0/8", oif=2), DEV)]


def test_lookup_and_stats_rendering():
    o, f, _ = out("rich")
    o.lookup([LookupResult(A("10.1.1.1"), route("10.0.0.0/8", oif=2)), LookupResult(A("1.1.1.1"), None)])
    text = f.getvalue()
    assert "10.1.1.1" in text and "no route" in text
    o, f, _ = out("rich")
    o.stats(Stats(3, 1, (TableStats(254, 4, 3), TableStats(100, 6, 1)), 4096, 9, 20, 2, 1000))
    text = f.getvalue()
    assert "IPv4 routes" in text and "table 100 IPv6" in text and "4,096" in text


def test_errors_go_to_stderr_in_one_line_and_json_to_stdout():
    o, f, e = out("plain")
    o.error("route add x: EEXIST", {"errno": "EEXIST"})
    assert e.getvalue() == "error: route add x: EEXIST\n" and f.getvalue() == ""
    o, f, e = out("json")
    o.error("route add x: EEXIST", {"errno": "EEXIST"})
    assert json.loads(f.getvalue()) == {"ok": False, "error": {"message": "route add x: EEXIST",
                                                               "errno": "EEXIST"}}


def test_origin_of_a_notification():
    assert render.origin_text(0) == "kernel"
    assert render.origin_text(4242, {4242}) == "this shell"
    me = os.getpid()
    with open(f"/proc/{me}/comm") as fh:
        comm = fh.read().strip()
    assert render.origin_text(me) == f"pid {me} ({comm})"
    assert render.origin_text(-7) == "port -7"


def test_event_lines():
    new = Event(kind="new", route=route("10.0.0.0/8", oif=2), pid=0)
    line = render.event_line(new, DEV, "pid 99 (ip)", stamp=0).plain
    assert line.endswith("+ 10.0.0.0/8 dev dummy0 proto boot  by pid 99 (ip)")
    gone = Event(kind="del", route=route("10.0.0.0/8", oif=2))
    assert "- 10.0.0.0/8" in render.event_line(gone, DEV).plain
    flush = Event(kind="flush", filter=Filter(oif=3), count=12)
    assert "flush 12 routes (dev dummy1)" in render.event_line(flush, DEV).plain
    assert render.event_plain(flush, DEV, "this shell") == "flush 12 dev dummy1 by this shell"


def test_resync_shows_what_changed_during_the_gap():
    from rtshell.model import ResyncEvent

    ev = ResyncEvent(kind="resync", added=(route("10.1.0.0/16", oif=2),),
                    removed=tuple(route(f"10.2.{i}.0/24", oif=2) for i in range(7)), changed=())
    text = render.event_line(ev, DEV).plain
    assert "overran" in text and "1 added, 7 removed, 0 changed" in text
    assert "+ 10.1.0.0/16 dev dummy0" in text and "- ... 2 more" in text
    doc = render.event_json(ev, DEV)
    assert doc["event"] == "resync" and len(doc["removed"]) == 7
    plain = render.event_plain(ev, DEV)
    assert plain.count("\n") == 8


def test_to_ansi_keeps_colour_codes():
    from rich.text import Text

    s = render.to_ansi(Text("x", style="red"), 40, color=True)
    assert "\x1b[31m" in s
    assert render.to_ansi(Text("x", style="red"), 40, color=False) == "x\n"


def test_watch_view():
    from rtshell.commands.watch import Window

    ev = Event(kind="new", route=route("10.0.0.0/8", oif=2))
    rows = [route("10.0.0.0/8", oif=2), route("10.1.0.0/16", oif=3)]
    win = Window(rows, 1000, 1_000_000, 1_000_000, [], "notifications overran", 7, None, None)
    text = render.to_ansi(render.watch_view(rows, win, [(0.0, ev, "this shell")], "watch all", 2.5,
                                            devices=DEV), 120, color=False)
    lines = text.splitlines()
    assert "rows 1,001-1,002 of 1,000,000" in lines[0] and "2.5 events/s" in lines[0]
    assert "PgUp/PgDn" in lines[1] and "q: leave" in lines[1] and lines[2] == "notifications overran"
    assert "10.1.0.0/16" in text and "dummy1" in text and "by this shell" in text
    win = Window(rows[:1], 0, 11, 50_000, [], None, 7, r"10\.1\.5", 0.25)
    text = render.to_ansi(render.watch_view(rows[:1], win, [], "watch all", 0.0, typing="10.[",
                                            message="not a regular expression: x", devices=DEV), 120, color=False)
    lines = text.splitlines()
    assert "rows 1-1 of 11 matching /10\\.1\\.5/ (of 50,000), 25% searched" in lines[0]
    assert lines[1].startswith("filter: /10.[") and "not a regular expression: x" in lines[1]
    empty = Window([], 0, 0, 3, [], None, 7, "nothing", None)
    assert "no routes match /nothing/" in render.to_ansi(render.watch_view([], empty, [], "w", 0.0), 120, False)


def test_diff_rendering():
    o, f, _ = out("plain")
    o.diff([{"op": "replace", "line": "route replace 10.0.0.0/8 dev dummy1",
             "before": route("10.0.0.0/8", oif=2), "after": route("10.0.0.0/8", oif=3), "note": None}])
    assert f.getvalue().splitlines() == ["- 10.0.0.0/8 dev dummy0 proto boot",
                                         "+ 10.0.0.0/8 dev dummy1 proto boot"]


def test_streamed_rows_are_drawn_as_the_table_draws_them():
    import io

    from rich.console import Console

    from rtshell.render import Sgr, _route_table, _widths, route_cells, route_lines, route_row

    ip_network, ip_address = ipaddress.ip_network, ipaddress.ip_address
    routes = [Route(dst=ip_network("10.9.0.0/16"), type=RouteType.BLACKHOLE),
              Route(dst=ip_network("10.8.0.0/16"), gateway=ip_address("10.99.0.2"), metric=20, proto=4),
              Route(dst=ip_network("10.7.0.0/24"), oif=2, metric=1234567, table=100, type=RouteType.PROHIBIT),
              Route(dst=ip_network("192.0.2.0/24"), type=RouteType.UNREACHABLE, proto=186)]
    rows = [route_row(r) for r in routes]
    widths = _widths(rows)

    def console(system):
        return Console(file=io.StringIO(), force_terminal=system is not None, width=120,
                       color_system=system, highlight=False)

    for system in ("truecolor", "standard", None):  # and none: the same text without codes
        table = _route_table(widths, False)
        for r in routes:
            table.add_row(*route_cells(r))
        drawn = console(system)
        drawn.print(table)
        assert route_lines(rows, widths, 120, Sgr(console(system))) == drawn.file.getvalue()
    sgr = Sgr(console("truecolor"))
    multipath = [route_row(Route(dst=ip_network("10.6.0.0/16"), nexthops=(
        NextHop(ip_address("10.99.0.2"), 2, 1), NextHop(ip_address("10.98.0.2"), 2, 1))))]
    assert route_lines(multipath, _widths(multipath), 120, sgr) is None  # a cell of two lines: the table's job
    assert route_lines(rows, widths, 60, sgr) is None  # wider than the screen: the table folds it


def test_each_mode_is_its_own_class_behind_output():
    for mode, cls in (("rich", render.RichOutput), ("plain", render.PlainOutput), ("json", render.JsonOutput)):
        o = render.Output(mode, file=io.StringIO(), err=io.StringIO())
        assert type(o) is cls and o.mode == mode and o.json == (mode == "json")
        assert type(o.over(io.StringIO())) is cls and type(o.as_json()) is render.JsonOutput
        assert type(cls(file=io.StringIO())) is cls
    assert type(render.Output()) is render.PlainOutput
    with pytest.raises(ValueError):
        render.Output("html")
    with pytest.raises(ValueError):
        render.RichOutput("plain")
