"""The one grammar, table-driven: what each line means, and every error."""

from ipaddress import ip_address, ip_network

import pytest

from fakes import fake_devices
from rtshell.commands import REGISTRY, HelpRequest, ParseError, parse, tokenize
from rtshell.commands.executor import Context
from rtshell.commands.kinds import expand_prefix
from rtshell.model import Filter, Match, NextHop, Route, RouteType, parse_prefix, parse_prefix_family

CTX = Context(fake_devices())
A = ip_address
N = ip_network
BOOT = 3


def req(line):
    p = parse(line, CTX)
    assert p is not None
    return p.request


def one(line):
    (r,) = req(line)
    return r.method, r.args


# -- lines that parse, and the request each one makes ------------------------------

ROUTE_CASES = [
    ("route add 10.0.0.0/8 via 10.99.0.2", "add",
     Route(N("10.0.0.0/8"), proto=BOOT, gateway=A("10.99.0.2"))),
    ("route add 10/8 dev dummy0", "add", Route(N("10.0.0.0/8"), proto=BOOT, oif=2)),
    ("route add 192.0.2.1 dev dummy0", "add", Route(N("192.0.2.1/32"), proto=BOOT, oif=2)),
    ("route add blackhole 10.0.0.0/8", "add",
     Route(N("10.0.0.0/8"), type=RouteType.BLACKHOLE, proto=BOOT)),
    ("route add 10.0.0.0/8 type prohibit table 100", "add",
     Route(N("10.0.0.0/8"), table=100, type=RouteType.PROHIBIT, proto=BOOT)),
    ("route add unreachable default -6", "add",
     Route(N("::/0"), type=RouteType.UNREACHABLE, proto=BOOT)),
    ("route add default via 10.99.0.1", "add", Route(N("0.0.0.0/0"), proto=BOOT, gateway=A("10.99.0.1"))),
    ("route add default via 2001:db8:ffff::2", "add",
     Route(N("::/0"), proto=BOOT, gateway=A("2001:db8:ffff::2"))),
    ("route add -6 default dev dummy0", "add", Route(N("::/0"), proto=BOOT, oif=2)),
    ("route add 10.0.0.0/8 dev dummy0 metric 7 proto static table main", "add",
     Route(N("10.0.0.0/8"), proto=4, metric=7, oif=2)),
    ("route add 10.0.0.0/8 dev dummy0 priority 7 protocol 186 table 4294967295", "add",
     Route(N("10.0.0.0/8"), table=4294967295, proto=186, metric=7, oif=2)),
    ("route add 10.0.0.0/8 nexthop via 10.99.0.2 weight 3 nexthop via 10.98.0.2 dev dummy1", "add",
     Route(N("10.0.0.0/8"), proto=BOOT, nexthops=(NextHop(A("10.99.0.2"), None, 3),
                                                   NextHop(A("10.98.0.2"), 3, 1)))),
    ("route add 10.0.0.0/8 metric 5 nexthop dev dummy0 nexthop dev dummy1 weight 256", "add",
     Route(N("10.0.0.0/8"), proto=BOOT, metric=5, nexthops=(NextHop(None, 2, 1), NextHop(None, 3, 256)))),
    ("route add 10.0.0.0/8 nexthop via 10.99.0.2 weight 9", "add",
     Route(N("10.0.0.0/8"), proto=BOOT, gateway=A("10.99.0.2"))),
    ("route replace 10.0.0.0/8 dev dummy1", "replace", Route(N("10.0.0.0/8"), proto=BOOT, oif=3)),
    ("route change 10.0.0.0/8 via 10.98.0.2", "change",
     Route(N("10.0.0.0/8"), proto=BOOT, gateway=A("10.98.0.2"))),
    ("route append 10.0.0.0/8 via 10.98.0.2", "append",
     Route(N("10.0.0.0/8"), proto=BOOT, gateway=A("10.98.0.2"))),
    ("route del 10.0.0.0/8", "delete", Route(N("10.0.0.0/8"), type=RouteType.UNSPEC)),
    ("route delete 10.0.0.0/8 via 10.99.0.2 dev dummy0 metric 5 table 100", "delete",
     Route(N("10.0.0.0/8"), table=100, type=RouteType.UNSPEC, metric=5, gateway=A("10.99.0.2"), oif=2)),
    ("route del blackhole 10.0.0.0/8 proto bgp", "delete",
     Route(N("10.0.0.0/8"), type=RouteType.BLACKHOLE, proto=186)),
    ("route del default -6", "delete", Route(N("::/0"), type=RouteType.UNSPEC)),
    ("route add 10.0.0.0/8 dev dummy0   # a comment", "add", Route(N("10.0.0.0/8"), proto=BOOT, oif=2)),
]


@pytest.mark.parametrize("line,method,route", ROUTE_CASES, ids=[c[0] for c in ROUTE_CASES])
def test_route_changes(line, method, route):
    assert one(line) == (method, (route,))


READ_CASES = [
    ("route get 10.0.0.0/8", "get", (N("10.0.0.0/8"), 254, None)),
    ("route get 10.0.0.0/8 metric 20", "get", (N("10.0.0.0/8"), 254, 20)),
    ("route get default -6 table local", "get", (N("::/0"), 255, None)),
    ("route lookup 10.1.2.3", "lookup_many", ((A("10.1.2.3"),), 254)),
    ("route lookup 10.1.2.3 10.9.9.9 table 100", "lookup_many", ((A("10.1.2.3"), A("10.9.9.9")), 100)),
    ("route show", "dump", (Filter(table=254),)),
    ("route show table all", "dump", (None,)),
    ("route list", "dump", (Filter(table=254),)),
    ("route show 10.0.0.0/8", "dump", (Filter(family=4, table=254, prefix=N("10.0.0.0/8")),)),
    ("route show root 10.0.0.0/8", "dump", (Filter(family=4, table=254, prefix=N("10.0.0.0/8"), match=Match.ROOT),)),
    ("route show match 2001:db8::/64", "dump",
     (Filter(family=6, table=254, prefix=N("2001:db8::/64"), match=Match.MATCH),)),
    ("route show exact default -6", "dump", (Filter(family=6, table=254, prefix=N("::/0")),)),
    ("route show dev dummy0 via 10.99.0.2 table main proto static type unicast metric 3 -4", "dump",
     (Filter(family=4, table=254, type=RouteType.UNICAST, proto=4, oif=2, gateway=A("10.99.0.2"),
             metric=3),)),
    ("route show table all -6", "dump", (Filter(family=6),)),
    ("route flush all", "flush", (Filter(table=254),)),
    ("route flush all table all", "flush", (Filter(),)),
    ("route flush all table 100", "flush", (Filter(table=100),)),
    ("route flush dev dummy1", "flush", (Filter(table=254, oif=3),)),
    ("route flush dev dummy1 table all", "flush", (Filter(oif=3),)),
    ("route flush root 10.0.0.0/8 table 100", "flush",
     (Filter(family=4, table=100, prefix=N("10.0.0.0/8"), match=Match.ROOT),)),
    ("stats", "stats", ()),
]


@pytest.mark.parametrize("line,method,args", READ_CASES, ids=[c[0] for c in READ_CASES])
def test_reads_and_flushes(line, method, args):
    assert one(line) == (method, args)


def test_lookup_splits_families_in_order():
    reqs = req("route lookup 2001:db8::1 10.1.1.1 10.2.2.2")
    assert [(r.method, r.args) for r in reqs] == [
        ("lookup_many", ((A("10.1.1.1"), A("10.2.2.2")), 254)),
        ("lookup_many", ((A("2001:db8::1"),), 254)),
    ]


@pytest.mark.parametrize("line,name,values", [
    ("help", "help", {}),
    ("trace on", "trace", {"state": "on"}),
    ("trace", "trace", {}),
    ("begin", "begin", {}),
    ("diff", "diff", {}),
    ("commit", "commit", {}),
    ("abort", "abort", {}),
    ("save /tmp/x", "save", {"file": "/tmp/x"}),
    ("save 'my routes.txt' table 100", "save", {"file": "my routes.txt", "table": 100}),
    ("restore /tmp/x", "restore", {"file": "/tmp/x"}),
    ("batch /tmp/x --force", "batch", {"file": "/tmp/x", "force": True}),
    ("monitor", "monitor", {}),
    ("watch dev dummy0", "watch", {"oif": 2}),
    ("exit", "exit", {}),
    ("quit", "exit", {}),
])
def test_shell_commands(line, name, values):
    p = parse(line, CTX)
    assert p.spec.name == name
    for k, v in values.items():
        assert p.values[k] == v


def test_explain_and_help_take_the_rest_of_the_line():
    p = parse("explain route add 10.0.0.0/8 via 10.99.0.2", CTX)
    assert [t.text for t in p.values["command"]] == ["route", "add", "10.0.0.0/8", "via", "10.99.0.2"]
    p = parse("help route add", CTX)
    assert [t.text for t in p.values["command"]] == ["route", "add"]


def test_blank_and_comment_lines():
    assert parse("", CTX) is None
    assert parse("   ", CTX) is None
    assert parse("# route add 10.0.0.0/8", CTX) is None


# -- every error, and the word it points at --------------------------------------------

ERROR_CASES = [
    # (line, message part, offending word)
    ("rotue add", "unknown command 'rotue' (did you mean route?)", "rotue"),
    ("route adx 10.0.0.0/8", "route: unknown command 'adx' (did you mean add?)", "adx"),
    ("route", "route needs one of: add", ""),
    ("route add", "missing PREFIX", ""),
    ("route add 10.0.0.0/8", "a unicast route needs via GW, dev IF or nexthop", ""),
    ("route add 10.0.0.1/8 dev dummy0", "host bits set (did you mean 10.0.0.0/8?)", "10.0.0.1/8"),
    ("route add 10.0.0.0/33 dev dummy0", "prefix length '33' out of range 0..32 for IPv4", "10.0.0.0/33"),
    ("route add 2001:db8::/129 dev dummy0", "out of range 0..128 for IPv6", "2001:db8::/129"),
    ("route add 10.0.0.0/x dev dummy0", "out of range", "10.0.0.0/x"),
    ("route add 300.0.0.0/8 dev dummy0", "'300.0.0.0' is not an address", "300.0.0.0/8"),
    ("route add bogus dev dummy0", "'bogus' is not", "bogus"),
    ("route add 10.0.0.0/8 dev eth9", "unknown device 'eth9'", "eth9"),
    ("route add 10.0.0.0/8 via 2001:db8::1", "gateway 2001:db8::1 is IPv6, but 10.0.0.0/8 is IPv4",
     "2001:db8::1"),
    ("route add 2001:db8::/32 via 10.0.0.1", "gateway 10.0.0.1 is IPv4, but 2001:db8::/32 is IPv6",
     "10.0.0.1"),
    ("route add -4 default via 2001:db8::1", "is IPv6, but -4 is IPv4", "2001:db8::1"),
    ("route add -6 10.0.0.0/8 dev dummy0", "10.0.0.0/8 is IPv4, but -6 is IPv6", "10.0.0.0/8"),
    ("route add -4 -6 default dev dummy0", "'-6' and '-4' exclude each other", "-6"),
    ("route add 10.0.0.0/8 via", "'via' needs a gateway address", "via"),
    ("route add 10.0.0.0/8 via 10.99.0.256", "not an IPv4 or IPv6 address", "10.99.0.256"),
    ("route add 10.0.0.0/8 dev dummy0 metric -1", "-1 out of range 0..4294967295", "-1"),
    ("route add 10.0.0.0/8 dev dummy0 metric ten", "'ten' is not a number", "ten"),
    ("route add 10.0.0.0/8 dev dummy0 metric 4294967296", "out of range 0..4294967295", "4294967296"),
    ("route add 10.0.0.0/8 dev dummy0 metric 1 metric 2", "'metric' given twice", "metric"),
    ("route add 10.0.0.0/8 dev dummy0 table 0", "table 0 is not a table", "0"),
    ("route add 10.0.0.0/8 dev dummy0 table nosuch", "unknown table 'nosuch'", "nosuch"),
    ("route add 10.0.0.0/8 dev dummy0 proto nosuch", "unknown protocol 'nosuch'", "nosuch"),
    ("route add 10.0.0.0/8 dev dummy0 proto 256", "protocol 256 out of range 0..255", "256"),
    ("route add 10.0.0.0/8 type nosuch", "unknown route type 'nosuch'", "nosuch"),
    ("route add blackhole 10.0.0.0/8 type prohibit", "'type' given twice", "type"),
    ("route add blackhole 10.0.0.0/8 via 10.99.0.2", "a blackhole route takes no gateway or device",
     "10.99.0.2"),
    ("route add 10.0.0.0/8 blackhole", "unexpected 'blackhole'", "blackhole"),
    ("route add 10.0.0.0/8 dev dummy0 10.1.0.0/16", "unexpected '10.1.0.0/16'", "10.1.0.0/16"),
    ("route add 10.0.0.0/8 dev dummy0 metirc 3", "unexpected 'metirc' (did you mean metric?)", "metirc"),
    ("route add 10.0.0.0/8 via 10.99.0.2 nexthop via 10.98.0.2", "use either via/dev or nexthop",
     "nexthop"),
    ("route add 10.0.0.0/8 nexthop weight 2", "a nexthop needs via GW or dev IF", "nexthop"),
    ("route add 10.0.0.0/8 nexthop via 10.99.0.2 via 10.98.0.2", "'via' given twice in one nexthop", "via"),
    ("route add 10.0.0.0/8 nexthop via 10.99.0.2 nexthop via 10.99.0.2", "the same next hop given twice",
     "nexthop"),
    ("route add 10.0.0.0/8 nexthop dev dummy0 weight 0", "0 out of range 1..256", "0"),
    ("route add 10.0.0.0/8 nexthop dev dummy0 weight 257", "257 out of range 1..256", "257"),
    ("route add 10.0.0.0/8 nexthop via 2001:db8::1", "is IPv6, but 10.0.0.0/8 is IPv4", "2001:db8::1"),
    ("route get", "missing ADDR|PREFIX", ""),
    ("route get 10.0.0.0/8 via 10.0.0.1", "unexpected 'via'", "via"),
    ("route lookup", "missing ADDR", ""),
    ("route lookup 10.0.0.0/8", "not an IPv4 or IPv6 address", "10.0.0.0/8"),
    ("route show root", "'root' needs a prefix in the table", "root"),
    ("route show root 10.0.0.0/8 exact 10.0.0.0/8", "'exact' and 'root' exclude each other", "exact"),
    ("route show 10.0.0.0/8 10.1.0.0/16", "unexpected '10.1.0.0/16'", "10.1.0.0/16"),
    ("route show root 10.0.0.0/8 via 2001:db8::1", "is IPv6, but 10.0.0.0/8 is IPv4", "2001:db8::1"),
    ("route show table 0", "table 0 is not a table", "0"),
    ("route flush", "route flush needs 'all' or a filter", ""),
    ("route flush all dev dummy0", "'all' flushes every route of the table", "all"),
    ("trace maybe", "unexpected 'maybe' (expected on or off)", "maybe"),
    ("stats now", "unexpected 'now'", "now"),
    ("save", "missing FILE", ""),
    ("explain", "missing COMMAND", ""),
    ("route add 'open quote", "unterminated quote", "'open quote"),
]


@pytest.mark.parametrize("line,message,word", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_point_at_the_word(line, message, word):
    with pytest.raises(ParseError) as info:
        parse(line, CTX)
    err = info.value
    assert message in err.message
    if word:
        assert line[err.start:err.end] == word
    else:
        assert err.start >= len(line.rstrip())  # at the end: something is missing


def test_pointer_draws_a_caret_under_the_word():
    line = "route add 10.0.0.0/8 dev eth9"
    with pytest.raises(ParseError) as info:
        parse(line, CTX)
    assert info.value.pointer(line) == line + "\n" + " " * 25 + "^^^^"


def test_too_many_nexthops():
    hops = " ".join(f"nexthop via 10.99.0.{i}" for i in range(1, 34))
    with pytest.raises(ParseError) as info:
        parse("route add 10.0.0.0/8 " + hops, CTX)
    assert "at most 32 next hops" in info.value.message
    ok = " ".join(f"nexthop via 10.99.0.{i}" for i in range(1, 33))
    assert len(one("route add 10.0.0.0/8 " + ok)[1][0].nexthops) == 32


# -- '?' and the registry ------------------------------------------------------------------


def test_question_mark_asks_what_may_come_next():
    with pytest.raises(HelpRequest) as info:
        parse("route add 10.0.0.0/8 ?", CTX)
    words = info.value.expect.words()
    assert {"via", "dev", "metric", "table", "nexthop"} <= set(words)
    assert "blackhole" not in words  # the type word only leads
    with pytest.raises(HelpRequest) as info:
        parse("route ?", CTX)
    assert "add" in info.value.expect.words()
    with pytest.raises(HelpRequest) as info:
        parse("route add 10.0.0.0/8 nexthop via 10.99.0.2 ?", CTX)
    assert {"dev", "weight", "nexthop", "metric"} <= set(info.value.expect.words())
    assert "via" not in info.value.expect.words()


def test_registry_reads_one_table():
    names = {s.name for s in REGISTRY.specs}
    assert {"route add", "route replace", "route change", "route append", "route del", "route get",
            "route lookup", "route show", "route flush", "stats", "monitor", "watch", "explain", "trace", "verbose",
            "terminal monitor", "terminal no monitor", "terminal paginate", "terminal no paginate", "lenient",
            "begin", "diff", "commit", "abort", "save", "restore", "batch", "help", "exit"} == names
    assert REGISTRY.find("route delete").name == "route del"
    assert REGISTRY.find("route ls").name == "route show"
    for spec in REGISTRY.specs:
        assert spec.summary and spec.usage.startswith(spec.name)
    mutating = {s.name for s in REGISTRY.specs if s.mutating}
    assert mutating == {"route add", "route replace", "route change", "route append", "route del",
                        "route flush"}


# -- words ----------------------------------------------------------------------------------


def test_tokenize_keeps_positions_and_quotes():
    toks = tokenize("save  \"a b\"  table 100 # note")
    assert [(t.text, t.start, t.end) for t in toks] == [
        ("save", 0, 4), ("a b", 6, 11), ("table", 13, 18), ("100", 19, 22)]


@pytest.mark.parametrize("text,expanded", [
    ("10/8", "10.0.0.0/8"), ("172.16/12", "172.16.0.0/12"), ("192.168.1/24", "192.168.1.0/24"),
    ("10.0.0.0/8", "10.0.0.0/8"), ("2001:db8::/32", "2001:db8::/32"), ("10", "10"),
])
def test_short_ipv4_prefixes(text, expanded):
    assert expand_prefix(text) == expanded


def test_parse_prefix_default_per_family():
    assert parse_prefix_family("default") == N("0.0.0.0/0")
    assert parse_prefix_family("default", 6) == N("::/0")
    assert parse_prefix_family("10.0.0.0/8", 4) == N("10.0.0.0/8")
    with pytest.raises(ValueError, match="not an IPv6 prefix"):
        parse_prefix_family("10.0.0.0/8", 6)
    with pytest.raises(ValueError, match="needs a family"):
        parse_prefix("default")


@pytest.mark.parametrize("typed, words", [
    ("save \"my file", ["save", "my file"]),
    ("save 'it\"s", ["save", 'it"s']),
    ("stats ' \" ", ["stats", ' " ']),  # two kinds open: the first one runs to the end
    ("x \"a\" 'b", ["x", "a", "b"]),
])
def test_a_line_being_typed_with_open_quotes_still_splits(typed, words):
    from rtshell.commands.grammar import tokenize_lenient

    assert [t.text for t in tokenize_lenient(typed)] == words
