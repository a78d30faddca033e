"""What users bring from ip: abbreviations, pasted `ip route` lines, the
FIB's own words, ip's table defaults, and the command line as ip spells it."""

import io
import json
import threading

import pytest

from fakes import CliRun, FakeClient, fake_devices, route
from rtshell.cli import ip_spelling, main
from rtshell.commands import REGISTRY, ParseError, parse
from rtshell.commands.executor import Context
from rtshell.commands.routes import FIB_ONLY, FIB_TYPES
from rtshell.completion import CompletionEngine, LiveValues
from rtshell.model import Event


def ctx(lenient=False):
    c = Context(fake_devices())
    c.lenient = lenient
    return c


def request(line, lenient=False):
    """What a line asks of the kernel: the command, and each request's method and arguments."""
    p = parse(line, ctx(lenient))
    return p.spec.name, [(r.method, r.args) for r in p.request or ()]


# -- abbreviations -------------------------------------------------------------------------------

ABBREVIATIONS = [
    # (abbreviated, the same in full)
    ("ro sh", "route show"),
    ("r s", "route show"),
    ("route sh", "route show"),
    ("r l", "route list"),
    ("r lst", "route list"),
    ("r a 10.0.0.0/8 v 10.99.0.2 d dummy0", "route add 10.0.0.0/8 via 10.99.0.2 dev dummy0"),
    ("r chg 10.0.0.0/8 dev dummy1", "route change 10.0.0.0/8 dev dummy1"),
    ("r c 10.0.0.0/8 dev dummy1", "route change 10.0.0.0/8 dev dummy1"),
    ("r rep 10.0.0.0/8 dev dummy1 m 5", "route replace 10.0.0.0/8 dev dummy1 metric 5"),
    ("r ap 10.0.0.0/8 via 10.98.0.2", "route append 10.0.0.0/8 via 10.98.0.2"),
    ("r d 10.0.0.0/8", "route del 10.0.0.0/8"),
    ("r g 10.1.2.3", "route get 10.1.2.3"),
    ("r lo 10.1.2.3", "route lookup 10.1.2.3"),
    ("r f all ta 100", "route flush all table 100"),
    ("r a 10.1.0.0/16 n v 10.99.0.2 w 2 n v 10.98.0.2",
     "route add 10.1.0.0/16 nexthop via 10.99.0.2 weight 2 nexthop via 10.98.0.2"),
    ("r a 10/8 via 10.99.0.2 pro static pri 7", "route add 10/8 via 10.99.0.2 proto static metric 7"),
    ("r sh ro 10.0.0.0/8 ty blackhole", "route show root 10.0.0.0/8 type blackhole"),
    ("st", "stats"),
    ("te no mon", "terminal no monitor"),
]


@pytest.mark.parametrize("short,full", ABBREVIATIONS, ids=[a for a, _ in ABBREVIATIONS])
def test_a_unique_prefix_or_ips_shortcut_is_the_word(short, full):
    assert request(short) == request(full)


AMBIGUOUS = [
    ("s", "'s' is ambiguous: save, stats", "s"),
    ("e", "'e' is ambiguous: exit, explain", "e"),
    ("route sh t 100", "'t' is ambiguous: table, type", "t"),
    ("route add 10/8 via 10.99.0.2 p static", "'p' is ambiguous: priority, proto", "p"),
    ("r zz", "route: unknown command 'zz'", "zz"),
]


@pytest.mark.parametrize("line,message,word", AMBIGUOUS, ids=[a for a, _, _ in AMBIGUOUS])
def test_an_ambiguous_prefix_names_the_candidates(line, message, word):
    with pytest.raises(ParseError) as info:
        parse(line, ctx())
    assert message in info.value.message and info.value.word == word


def test_a_file_name_is_never_taken_for_a_keyword():
    assert parse("save t", ctx()).values == {"file": "t"}
    assert parse("batch d --force", ctx()).values == {"file": "d", "force": True}


def test_tab_and_question_mark_offer_the_full_words():
    engine = CompletionEngine(LiveValues(fake_devices()))
    assert [s.text for s in engine.complete("ro")] == ["route"]
    assert "via" in [s.text for s in engine.complete("r a 10.0.0.0/8 v")]
    rows = dict(engine.help_rows("r a 10.0.0.0/8 ?"))
    assert "via" in rows and "dev" in rows
    assert REGISTRY.reach(["r", "a"]).path == ("route", "add")


def test_the_lexer_colours_an_abbreviation_as_what_it_stands_for():
    from rtshell.lexer import classify

    roles = [r for r, t in classify("r a 10.0.0.0/8 v 10.99.0.2") if r != "space"]
    assert roles == ["command", "command", "value", "keyword", "value"]


# -- ip route lines, as ip-route(8) writes them -------------------------------------------------

IP_LINES = [
    # (an ip route line, the same in rtshell's words)
    ("ip route add 10.0.0.0/8 via 10.99.0.2", "route add 10.0.0.0/8 via 10.99.0.2"),
    ("ip route add to 10.0.0.0/8 via 10.99.0.2 dev dummy0", "route add 10.0.0.0/8 via 10.99.0.2 dev dummy0"),
    ("ip ro add 10/8 dev dummy0 metric 10 table 100", "route add 10.0.0.0/8 dev dummy0 metric 10 table 100"),
    ("ip route add blackhole 192.0.2.0/24", "route add blackhole 192.0.2.0/24"),
    ("ip route add to unreachable 192.0.2.0/24", "route add unreachable 192.0.2.0/24"),
    ("ip route add prohibit 192.0.2.0/24 proto static", "route add prohibit 192.0.2.0/24 proto static"),
    ("ip route add 10.1.0.0/16 nexthop via 10.99.0.2 weight 2 nexthop via 10.98.0.2 dev dummy1",
     "route add 10.1.0.0/16 nexthop via 10.99.0.2 weight 2 nexthop via 10.98.0.2 dev dummy1"),
    ("ip -6 route add default via 2001:db8::1", "route add default via 2001:db8::1"),
    ("ip -6 route add 2001:db8::/32 dev dummy0 metric 1024", "route add 2001:db8::/32 dev dummy0 metric 1024"),
    ("ip route replace default via 10.99.0.1 dev dummy0", "route replace default via 10.99.0.1 dev dummy0"),
    ("ip route change 10.0.0.0/8 via 10.98.0.2", "route change 10.0.0.0/8 via 10.98.0.2"),
    ("ip route append 10.0.0.0/8 via 10.98.0.2", "route append 10.0.0.0/8 via 10.98.0.2"),
    ("ip route del 10.0.0.0/8", "route del 10.0.0.0/8"),
    ("ip route delete to 10.0.0.0/8 table 100", "route del 10.0.0.0/8 table 100"),
    ("ip route show", "route show"),
    ("ip route list table all", "route show table all"),
    ("ip route show table 100", "route show table 100"),
    ("ip route show to root 10.0.0.0/8", "route show root 10.0.0.0/8"),
    ("ip route show to match 10.1.2.0/24", "route show match 10.1.2.0/24"),
    ("ip route show to exact 10.0.0.0/8", "route show exact 10.0.0.0/8"),
    ("ip route show 10.0.0.0/8", "route show exact 10.0.0.0/8"),
    ("ip route show dev dummy0 proto static", "route show dev dummy0 proto static"),
    ("ip -4 route show type blackhole", "route show type blackhole -4"),
    ("ip route get 10.1.2.3", "route get 10.1.2.3"),
    ("ip route get to 10.1.2.3", "route get 10.1.2.3"),
    ("ip route get fibmatch 10.1.2.3", "route get 10.1.2.3"),
    ("ip route flush table 100", "route flush table 100"),
    ("ip route flush dev dummy1", "route flush dev dummy1"),
    ("ip route flush 10.0.0.0/8", "route flush exact 10.0.0.0/8"),
    ("ip r a 10.0.0.0/8 dev dummy0", "route add 10.0.0.0/8 dev dummy0"),
]


@pytest.mark.parametrize("ip,ours", IP_LINES, ids=[a for a, _ in IP_LINES])
def test_ip_route_lines_mean_what_they_mean_in_ip(ip, ours):
    assert request(ip)[1] == request(ours)[1]


@pytest.mark.parametrize("word", sorted(FIB_ONLY))
def test_every_fib_only_word_is_refused_with_its_own_line(word):
    foreign = FIB_ONLY[word]
    values = " 1" * foreign.values
    line = f"route add {word} 10.0.0.0/8" if word in FIB_TYPES else f"route add 10.0.0.0/8 dev dummy0 {word}{values}"
    with pytest.raises(ParseError) as info:
        parse(line, ctx())
    assert info.value.word == word
    assert "rtmgr" in info.value.message and f"'{word}'" in info.value.message


LENIENT = [
    # (a line pasted from ip route show, the route it is with --lenient, what was dropped)
    ("route add 10.0.0.0/8 via 10.99.0.2 dev dummy0 proto static scope link src 10.99.0.1 metric 100",
     "route add 10.0.0.0/8 via 10.99.0.2 dev dummy0 proto static metric 100", "scope link, src 10.99.0.1"),
    ("route add default via 2001:db8::1 dev dummy0 proto ra metric 1024 expires 1799sec pref medium",
     "route add default via 2001:db8::1 dev dummy0 proto ra metric 1024", "expires 1799sec, pref medium"),
    ("route add 10.0.0.0/8 dev dummy0 mtu lock 1400 onlink", "route add 10.0.0.0/8 dev dummy0",
     "mtu lock 1400, onlink"),
    ("route add 10.1.0.0/16 nexthop via 10.99.0.2 dev dummy0 weight 1 onlink nexthop dev dummy1 linkdown",
     "route add 10.1.0.0/16 nexthop via 10.99.0.2 dev dummy0 weight 1 nexthop dev dummy1", "onlink, linkdown"),
]


@pytest.mark.parametrize("pasted,route_line,dropped", LENIENT, ids=[a for a, _, _ in LENIENT])
def test_lenient_drops_the_fib_words_and_says_which(pasted, route_line, dropped):
    p = parse(pasted, ctx(lenient=True))
    assert [(r.method, r.args) for r in p.request] == request(route_line)[1]
    assert p.dropped_text() == dropped


def test_lenient_leaves_out_a_line_of_a_route_type_rtmgr_does_not_keep():
    p = parse("route add local 127.0.0.1 dev dummy0 proto kernel scope host src 127.0.0.1", ctx(lenient=True))
    assert p.skip is not None and "'local' routes belong to the kernel's FIB" in p.skip
    assert p.request is None


def test_a_filter_never_drops_a_word():
    """`route flush scope link` without its scope would delete more than was asked."""
    for line in ("route flush scope link", "route show src 10.0.0.1", "route get 10.1.2.3 from 10.0.0.1"):
        with pytest.raises(ParseError):
            parse(line, ctx(lenient=True))


def test_a_value_missing_after_a_dropped_word_is_an_error():
    with pytest.raises(ParseError, match="'scope' needs a value"):
        parse("route add 10.0.0.0/8 dev dummy0 scope", ctx(lenient=True))


# -- through the command line -----------------------------------------------------------------------


@pytest.fixture
def client():
    return FakeClient([route("10.0.0.0/8", gateway="10.99.0.2"), route("2001:db8::/32", oif=2, table=100)])


@pytest.fixture
def run(client):
    return CliRun(client)


def dsts(client):
    return sorted(str(k[2]) for k in client.table)


def test_a_command_from_argv(run):
    assert run("route", "show", "table", "all") == 0
    assert run.out.splitlines() == ["2001:db8::/32 dev dummy0 table 100 proto boot",
                                    "10.0.0.0/8 via 10.99.0.2 proto boot"]
    assert run("ro", "sh") == 0 and run.out == "10.0.0.0/8 via 10.99.0.2 proto boot\n"
    assert run("route", "show", "table", "nosuch") == 2 and "unknown table 'nosuch'" in run.err
    assert run("--", "route", "get", "10.1.2.3") == 0 and "10.0.0.0/8" in run.out


def test_family_before_the_command_applies_to_it(run):
    assert run("-6", "route", "show", "table", "all") == 0
    assert run.out == "2001:db8::/32 dev dummy0 table 100 proto boot\n"
    assert run("-f", "inet", "-c", "route show table all") == 0
    assert run.out == "10.0.0.0/8 via 10.99.0.2 proto boot\n"
    assert run("-4", "stats") == 0  # a command with no family takes it as ip does: not at all


@pytest.mark.parametrize("argv,expected", [
    (["-batch", "f.txt", "-force"], ["--batch", "f.txt", "--force"]),
    (["-ba", "f.txt", "-forc"], ["--batch", "f.txt", "--force"]),
    (["-b", "f.txt"], ["-b", "f.txt"]),
    (["-json", "-pretty", "route", "show", "-6"], ["--json", "--pretty", "route", "show", "-6"]),
    (["-ts", "monitor"], ["--tshort", "monitor"]),
    (["-t", "-oneline", "-lenient", "monitor"], ["-t", "--oneline", "--lenient", "monitor"]),
    (["-c", "-batch x", "route"], ["-c", "-batch x", "route"]),  # a value is left as it is
])
def test_options_as_ip_spells_them(argv, expected):
    assert ip_spelling(argv) == expected


def test_batch_force_as_ip_spells_it(run, client):
    text = "route add 10.0.0.0/8 via 10.99.0.2\nroute add 10.5.0.0/33 dev dummy0\nroute add 10.6.0.0/16 dev dummy0\n"
    assert run("-batch", "-", "-force", stdin=text) == 1
    assert "stdin:1:" in run.err and "EEXIST" in run.err and "stdin:2:" in run.err
    assert "10.6.0.0/16" in dsts(client)


def test_pretty_json(run):
    assert run("-j", "-p", "route", "show") == 0
    assert json.loads(run.out)[0]["dst"] == "10.0.0.0/8"
    assert run.out == json.dumps(json.loads(run.out), indent=2) + "\n"
    assert run("-j", "-p", "route", "show", "table", "7") == 0 and run.out == "[]\n"
    assert run("-j", "-p", "stats") == 0 and run.out.startswith("{\n  ")


def test_json_keys_are_ips_where_they_mean_the_same(run):
    assert run("-j", "route", "show") == 0
    (obj,) = json.loads(run.out)
    assert obj["protocol"] == "boot" and "proto" not in obj and obj["gateway"] == "10.99.0.2"


def monitor(*argv):
    client = FakeClient([])
    out, err = io.StringIO(), io.StringIO()

    def produce():
        while not client.subs:
            threading.Event().wait(0.01)
        client.inject(Event(kind="new", route=route("10.8.0.0/16", oif=2), time=1796230501.123456))
        client.closed = True

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    rc = main([*argv, "monitor"], stdout=out, stderr=err, client_factory=lambda: client, devices=fake_devices())
    t.join()
    assert rc == 0, err.getvalue()
    return out.getvalue()


def test_monitor_timestamps_as_ip_monitor_prints_them(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time
    time.tzset()
    try:
        assert monitor("-t").splitlines() == [
            "Timestamp: Wed Dec  2 16:55:01 2026 123456 usec", "new 10.8.0.0/16 dev dummy0 proto boot by kernel"]
        assert monitor("-ts").splitlines() == [
            "[2026-12-02T16:55:01.123456] new 10.8.0.0/16 dev dummy0 proto boot by kernel"]
        assert monitor().splitlines() == ["new 10.8.0.0/16 dev dummy0 proto boot by kernel"]
        (doc,) = [json.loads(x) for x in monitor("-j").splitlines()]
        assert doc["time"] == "2026-12-02T16:55:01.123456+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_lenient_batch_says_what_it_dropped_once(run, client):
    lines = "".join(f"ip route add 10.{i}.0.0/16 via 10.99.0.2 dev dummy0 proto static scope link src 10.99.0.1\n"
                    for i in range(1, 201))
    lines += "ip route add local 10.99.0.1 dev dummy0 table local proto kernel scope host src 10.99.0.1\n"
    assert run("-b", "-", stdin=lines) == 1 and "'scope' is an attribute of the kernel's FIB" in run.err
    assert dsts(client) == ["10.0.0.0/8", "2001:db8::/32"]  # the first line failed: nothing ran
    assert run("--lenient", "-b", "-", stdin=lines) == 0
    assert run.err.splitlines() == [
        "warning: stdin: left out 1 line of routes rtmgr does not keep: local 1",
        "warning: stdin: dropped words rtmgr routes do not have: scope (200 lines), src (200 lines)"]
    assert len(client.table) == 202


def test_lenient_in_the_shell_warns_per_command(client):
    from rtshell.commands import Executor
    from rtshell.render import Output

    out, err = io.StringIO(), io.StringIO()
    ex = Executor(Output("plain", file=out, err=err, devices=fake_devices()), devices=fake_devices(),
                  client_factory=lambda: client)
    assert not ex.run_line("route add 10.3.0.0/16 dev dummy0 scope link")
    assert ex.run_line("set lenient on") and ex.run_line("route add 10.3.0.0/16 dev dummy0 scope link")
    assert err.getvalue().splitlines()[-1] == "warning: dropped words rtmgr routes do not have: scope link"
    assert "10.3.0.0/16" in dsts(client)
    assert ex.run_line("lenient off") and not ex.ctx.lenient


def test_restore_takes_what_ip_route_show_prints(run, client, tmp_path):
    shown = tmp_path / "main.txt"
    shown.write_text(
        "default via 10.99.0.1 dev dummy0 proto dhcp src 10.99.0.7 metric 100\n"
        "10.20.0.0/16 proto static metric 20 \n"
        "\tnexthop via 10.99.0.2 dev dummy0 weight 1 \n"
        "\tnexthop via 10.98.0.2 dev dummy1 weight 3 \n"
        "10.99.0.0/24 dev dummy0 proto kernel scope link src 10.99.0.7\n"
        "blackhole 192.0.2.0/24 proto static\n"
        "local 10.99.0.7 dev dummy0 table local proto kernel scope host src 10.99.0.7\n")
    assert run("-c", f"restore {shown}") == 1 and "'src' is an attribute" in run.err
    assert run("-c", f"restore {shown} --lenient") == 0, run.err
    assert "restored 4 of 4 routes" in run.out
    multi = client.table[(254, 4, route("10.20.0.0/16").dst, 20)]
    assert [(str(h.gateway), h.oif, h.weight) for h in multi.nexthops] == [("10.99.0.2", 2, 1), ("10.98.0.2", 3, 3)]
    assert multi.metric == 20 and multi.proto == 4
    assert "left out 1 line of routes rtmgr does not keep: local 1" in run.err
