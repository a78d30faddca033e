"""Batch-file lines read in C (bindings/rtm_text.c, through
rtshell.commands.routes.route_lines) against the grammar: a line the C
reader takes must become the very request the grammar makes of it, byte for
byte; a line the grammar refuses, the C reader must leave to it."""

from __future__ import annotations

import io
from typing import Optional

import pytest
from hypothesis import given, settings, strategies as st

from fakes import FakeClient, fake_devices, route
from rtshell import netlink as nl
from rtshell.client.core import RUN_FLAGS
from rtshell.commands import parse
from rtshell.commands.executor import Context, Executor
from rtshell.commands.grammar import HelpRequest, ParseError
from rtshell.commands.routes import route_lines
from rtshell.render import Output

DEVICES = fake_devices()
READER = route_lines(DEVICES)


def grammar_bytes(line: str) -> Optional[bytes]:
    """The request the grammar makes of a line (seq 1, as a batch run sends
    it), or None when it refuses the line or it is no single route change."""
    try:
        parsed = parse(line, Context(DEVICES))
    except (ParseError, HelpRequest):
        return None
    if parsed is None or not parsed.spec.mutating or len(parsed.request) != 1:
        return None
    req = parsed.request[0]
    if req.method not in RUN_FLAGS:
        return None
    builder = nl.BatchBuilder()
    builder.put(*RUN_FLAGS[req.method], 1, req.args[0])
    return builder.take()


def c_bytes(line: str) -> Optional[bytes]:
    """The request the C reader makes of a line, or None when it leaves it."""
    read, _pos, _no = READER.read((line + "\n").encode(), 0, 1)
    if not read:
        return None
    (packed,) = read
    builder = nl.BatchBuilder()
    builder.put(*RUN_FLAGS[packed.verb], 1, packed)
    return builder.take()


# ---- lines of the shape the C reader takes, with every word it knows ------------------

V4 = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
#: per key: values the grammar takes, then values it refuses or reads its own way
KEYS = {
    "via": (["10.99.0.2", "10.98.0.7", "2001:db8:ffff::2"], ["10.99.0.256", "fe80::1%dummy0", "dummy0"]),
    "dev": (["lo", "dummy0", "dummy1"], ["nosuch0", "dummy"]),
    "oif": (["dummy0", "dummy1"], ["2"]),
    "table": (["main", "local", "default", "100", "4294967295"], ["0", "4294967296", "0x10", "010", "all"]),
    "metric": (["0", "5", "4294967295", "1024"], ["007", "4294967296", "-1", "1_0", "+5"]),
    "priority": (["3", "9"], ["x"]),
    "proto": (["boot", "static", "bgp", "kernel", "4", "255"], ["256", "0x3", "nosuch", "04"]),
}


@st.composite
def lines(draw) -> str:
    """Mostly lines the grammar takes, in every spelling it knows; some with a
    word it refuses or reads its own way."""
    def pick(good, bad):  # one time in eight, a bad one
        return draw(st.sampled_from(bad if draw(st.integers(0, 7)) == 7 else good))

    words = [pick(["route", "r", "ro", "rout"], ["routes", "ip"]),
             pick(["add", "a", "replace", "repl", "change", "chg", "append", "app", "del", "delete", "d"],
                  ["show", "ad d", "flush"])]
    a, b, c, d = draw(V4)
    plen = draw(st.integers(0, 32))
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0
    net = ((a << 24 | b << 16 | c << 8 | d) & mask)
    v4 = ".".join(str(net >> s & 255) for s in (24, 16, 8, 0))
    words.append(pick([f"{v4}/{plen}", f"{a}.{b}.{c}.{d}", "2001:db8::/32", "2001:db8:1::/48", "::/0",
                       "2001:DB8:0:1::/64", "0.0.0.0/0"],
                      [f"{a}.{b}.{c}.{d}/{plen}", "10/8", "default", "2001:db8::1/32", "10.0.0.0/33"]))
    keys = draw(st.lists(st.sampled_from(sorted(KEYS)), unique=True, max_size=5))
    if draw(st.integers(0, 7)) == 7:
        keys.append(draw(st.sampled_from(sorted(KEYS))))  # maybe given twice
    for key in keys:
        words += [key, pick(*KEYS[key])]
    sep = draw(st.sampled_from([" ", "  ", "\t", " \t "]))
    return sep.join(words) + pick(["", " ", "\t"], [" # note", "\r", " ?"])


@settings(max_examples=3000, deadline=None)
@given(lines())
def test_a_line_the_c_reader_takes_is_the_request_the_grammar_makes(line):
    mine = c_bytes(line)
    if mine is not None:
        assert mine == grammar_bytes(line), line


CANONICAL = [
    "route add 10.1.0.0/16 via 10.99.0.2",
    "route add 10.1.0.0/16 dev dummy0 table 100 metric 5 proto bgp",
    "route add 10.1.2.3 dev dummy0",
    "route add 2001:db8::/32 via 2001:db8:ffff::2 dev dummy1 table local",
    "r a 10.1.0.0/16 via 10.99.0.2 metric 7",
    "route replace 10.1.0.0/16 oif dummy1 priority 3",
    "route change 10.1.0.0/16 via 10.98.0.2 protocol static",
    "route append 10.1.0.0/16 via 10.98.0.2",
    "route del 10.1.0.0/16",
    "route delete 10.1.0.0/16 metric 5 table 100",
    "route del 10.1.0.0/16 via 10.99.0.2 dev dummy0 proto 4",
    "route add 0.0.0.0/0 via 10.99.0.1",
    "\troute  add\t10.1.0.0/16   dev dummy0 ",
]


@pytest.mark.parametrize("line", CANONICAL)
def test_the_common_lines_are_read_in_c_and_equal_the_grammars(line):
    mine = c_bytes(line)
    assert mine is not None, "the C reader left a common line to the grammar"
    assert mine == grammar_bytes(line)


@pytest.mark.parametrize("line", [
    "route add 10.1.0.1/16 dev dummy0",  # host bits: the grammar says which network was meant
    "route add 10.1.0.0/16 via 2001:db8::1",  # families differ
    "route add 10.1.0.0/16 dev nosuch0",  # no such device
    "route add 10.1.0.0/16",  # a unicast route needs via or dev
    "route add 10.1.0.0/16 dev dummy0 dev dummy1",  # given twice
    "route add 10.1.0.0/16 dev dummy0 metric 5 priority 6",  # an alias of a key given
    "route add 10.1.0.0/16 dev dummy0 table 0",
    "route add 10.1.0.0/16 dev dummy0 table 0x64",  # another base: the grammar's own reading
    "route add 10.1.0.0/16 dev dummy0 metric 4294967296",
    "route add 10.1.0.0/16 dev dummy0 proto 256",
    "route add blackhole 10.1.0.0/16",  # a type
    "route add 10.1.0.0/16 nexthop via 10.99.0.2 nexthop via 10.98.0.2",
    "route add 10/8 dev dummy0",  # ip's short form: the grammar expands it
    "route add default via 10.99.0.2",
    "route add 10.1.0.0/16 dev dummy0 scope link",  # a FIB word: the grammar refuses or drops it
    "route add 10.1.0.0/16 de dummy0",  # an abbreviated key
    "route add 10.1.0.0/16 dev 'dummy0'",
    "route add 10.1.0.0/16 dev dummy0 # note",
    "route show 10.1.0.0/16",
    "ip route add 10.1.0.0/16 dev dummy0",
    "route add 10.1.0.0/16 dev dummy0\r",
])
def test_other_lines_are_left_to_the_grammar(line):
    assert c_bytes(line) is None


def test_blank_and_comment_lines_are_passed_over_and_numbered():
    text = b"\n# a comment\n   \nroute add 10.1.0.0/16 dev dummy0\nroute show\nroute add 10.2.0.0/16 dev dummy0\n"
    read, pos, next_no = READER.read(text, 0, 1)
    assert [r.number for r in read] == [4] and next_no == 5 and text[pos:].startswith(b"route show")


# ---- whole batches: the same with and without the C reader ----------------------------

BATCH = """\
# routes
route add 10.1.0.0/16 dev dummy0
route add 10.2.0.0/16 via 10.99.0.2 metric 5

route add blackhole 10.3.0.0/16
route add 10.4.0.0/16 dev dummy0 table 100
route replace 10.1.0.0/16 dev dummy1
stats
route del 10.2.0.0/16 metric 5
route add 10.5.0.0/16 dev dummy0
route add 10.4.0.0/16 dev dummy0 table 100
route add 10.6.0.0/16 dev dummy0
"""


def run_batch(text: str, force: bool, c_reader: bool, monkeypatch) -> tuple[bool, dict, str, str]:
    client = FakeClient([route("10.0.0.0/8", gateway="10.99.0.2")])
    out, err = io.StringIO(), io.StringIO()
    ex = Executor(Output("plain", file=out, err=err), devices=DEVICES, client=client)
    taken = []
    if c_reader:
        real = nl.RouteLines.read

        def counting(self, *args):
            got = real(self, *args)
            taken.extend(r.number for r in got[0])
            return got

        monkeypatch.setattr(nl.RouteLines, "read", counting)
    else:
        monkeypatch.setattr(Executor, "route_lines", lambda self: None)
    ok = ex.run_batch(text.splitlines(keepends=True), "f.rt", force=force)
    monkeypatch.undo()
    if c_reader:
        assert taken, "the C reader took no line"
    return ok, dict(client.table), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("force", [False, True])
def test_a_batch_runs_the_same_with_the_c_reader_as_without(force, monkeypatch):
    with_c = run_batch(BATCH, force, True, monkeypatch)
    without = run_batch(BATCH, force, False, monkeypatch)
    assert with_c == without
    ok, table, _out, err = with_c
    assert not ok and "f.rt:11: " in err and "EEXIST" in err  # the second add of 10.4.0.0/16
    assert len(table) == (6 if force else 5)  # without force, line 12 did not run


def test_a_failing_line_read_in_c_is_reported_in_the_words_of_the_file(monkeypatch):
    ok, _table, _out, err = run_batch("route add 10.0.0.0/8  via 10.99.0.2\n", False, True, monkeypatch)
    assert not ok and err.startswith("error: f.rt:1: route add 10.0.0.0/8 via 10.99.0.2: EEXIST")
