"""Completion from the grammar and live values, tested with plain Documents."""

import ipaddress

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from fakes import fake_devices, route
from rtshell.model import ResyncEvent
from rtshell.completion import MAX_SUGGESTIONS, CompletionEngine, LiveValues, ShellCompleter
from rtshell.model import Event, Filter


@pytest.fixture
def live():
    lv = LiveValues(fake_devices())
    lv.load([route("10.0.0.0/8", gateway="10.99.0.2"), route("10.1.0.0/16", oif=2, table=100),
             route("2001:db8::/32", gateway="2001:db8:ffff::2"), route("0.0.0.0/0", gateway="10.99.0.1")])
    lv.publish()
    return lv


@pytest.fixture
def engine(live):
    return CompletionEngine(live)


def words(engine, text):
    return [s.text for s in engine.complete(text)]


def completions(text, engine):
    doc = Document(text, len(text))
    return list(ShellCompleter(engine).get_completions(doc, CompleteEvent(completion_requested=True)))


def test_command_words(engine):
    assert words(engine, "")[:3] == ["route", "stats", "monitor"]
    assert words(engine, "ro") == ["route"]
    assert words(engine, "route ") == ["add", "replace", "change", "append", "del", "get", "lookup",
                                       "show", "flush"]
    assert words(engine, "route s") == ["show"]
    assert "delete" not in words(engine, "route d")  # aliases are accepted, not offered


def test_completion_replaces_the_word_being_typed(engine):
    (c,) = completions("route sh", engine)
    assert (c.text, c.start_position) == ("show", -2)
    (c,) = completions("route del 2001", engine)
    assert (c.text, c.start_position) == ("2001:db8::/32", -4)


def test_live_prefixes_for_commands_on_existing_routes(engine):
    for verb in ("del", "change", "replace", "get", "append"):
        got = words(engine, f"route {verb} 10.")
        assert got == ["10.0.0.0/8", "10.1.0.0/16"], verb
    assert "default" in words(engine, "route del ")
    assert words(engine, "route show root 2") == ["2001:db8::/32"]


def test_add_offers_default_not_existing_prefixes(engine):
    got = words(engine, "route add ")
    assert "default" in got and "10.0.0.0/8" not in got
    assert {"unicast", "blackhole", "via", "dev", "nexthop"} <= set(got)


def test_keywords_not_repeated_and_group_keywords(engine):
    got = words(engine, "route add 10.5.0.0/16 via 10.99.0.2 metric 3 ")
    assert "via" not in got and "metric" not in got
    assert {"dev", "table", "proto", "nexthop", "-4", "-6"} <= set(got)
    assert "blackhole" not in got  # the type word only leads
    got = words(engine, "route add 10.5.0.0/16 nexthop via 10.99.0.2 ")
    assert {"dev", "weight", "nexthop"} <= set(got) and "via" not in got
    assert words(engine, "route add -4 default dev dummy0 -") == []


def test_values_by_kind(engine):
    assert words(engine, "route add 10.5.0.0/16 dev ") == ["dummy0", "dummy1", "lo"]
    assert words(engine, "route add 10.5.0.0/16 dev du") == ["dummy0", "dummy1"]
    assert words(engine, "route add 10.5.0.0/16 via ") == ["10.99.0.2", "2001:db8:ffff::2", "10.99.0.1"] \
        or set(words(engine, "route add 10.5.0.0/16 via ")) == {"10.99.0.2", "2001:db8:ffff::2", "10.99.0.1"}
    tables = words(engine, "route add 10.5.0.0/16 dev lo table ")
    assert tables[:3] == ["main", "local", "default"] and "100" in tables
    assert words(engine, "route show table a") == ["all"]
    assert words(engine, "route add 10.5.0.0/16 dev lo type ") == ["unicast", "blackhole", "unreachable",
                                                                    "prohibit"]
    assert "bgp" in words(engine, "route add 10.5.0.0/16 dev lo proto ")
    assert words(engine, "route add 10.5.0.0/16 dev lo proto st") == ["static"]
    assert words(engine, "trace ") == ["on", "off"]
    assert words(engine, "route add 10.5.0.0/16 dev lo metric ") == []


def test_files(engine, tmp_path):
    (tmp_path / "routes.rt").write_text("")
    (tmp_path / "sub").mkdir()
    got = words(engine, f"save {tmp_path}/")
    assert got == [f"{tmp_path}/routes.rt", f"{tmp_path}/sub/"]
    assert words(engine, f"batch {tmp_path}/r") == [f"{tmp_path}/routes.rt"]


def test_explain_and_help_complete_the_inner_command(engine):
    assert words(engine, "explain route a") == ["add", "append"]
    assert words(engine, "explain route del 10.1") == ["10.1.0.0/16"]
    assert words(engine, "help rou") == ["route"]
    assert "flush" in words(engine, "help route ")


def test_nothing_after_an_unknown_word_or_in_a_comment(engine):
    assert words(engine, "bogus ") == []
    assert words(engine, "route add 10.0.0.0/8 # d") == []


def test_help_rows_for_the_question_mark(engine):
    rows = dict(engine.help_rows("route add 10.5.0.0/16 "))
    assert "via" in rows and rows["via"] == "next-hop gateway address"
    assert "<Enter>" in rows
    rows = dict(engine.help_rows("route add "))
    assert "PREFIX" in rows and "<Enter>" not in rows
    rows = dict(engine.help_rows("route add 10.5.0.0/16 via "))
    assert list(rows) == ["GW"]
    assert dict(engine.help_rows("route "))["flush"].startswith("delete every route")
    assert engine.help_rows("bogus ") == []


# -- live values follow notifications ----------------------------------------------------------------


def test_live_values_follow_events(live, engine):
    live.apply(Event(kind="new", route=route("10.9.0.0/16", gateway="10.98.0.9")))
    live.apply(Event(kind="del", route=route("10.1.0.0/16", oif=2, table=100)))
    assert live.publish() is True
    assert words(engine, "route del 10.") == ["10.0.0.0/8", "10.9.0.0/16"]
    assert "10.98.0.9" in words(engine, "route add 10.5.0.0/16 via ")
    assert live.publish() is False  # nothing changed since


def test_live_values_flush_and_resync(live, engine):
    live.apply(Event(kind="flush", filter=Filter(oif=2), count=1))
    assert live.stale  # a filtered flush: reload from the kernel
    live.load([route("10.0.0.0/8", gateway="10.99.0.2")])
    assert not live.stale
    live.publish()
    assert words(engine, "route del 1") == ["10.0.0.0/8"]
    live.apply(Event(kind="flush", filter=None, count=1))
    live.publish()
    assert words(engine, "route del 1") == []
    live.apply(ResyncEvent(kind="resync", added=(route("10.3.0.0/16", oif=2),), initial=False))
    live.apply(ResyncEvent(kind="resync", added=(route("10.4.0.0/16", oif=2),), removed=(), initial=False))
    live.publish()
    assert words(engine, "route del 1") == ["10.3.0.0/16", "10.4.0.0/16"]
    live.apply(ResyncEvent(kind="resync", added=(route("10.7.0.0/16", oif=2),), initial=True))
    live.publish()
    assert words(engine, "route del 1") == ["10.7.0.0/16"]


def test_a_large_table_is_indexed_whole_and_answers_by_range():
    lv = LiveValues(fake_devices())
    table = [route(f"10.{i // 256 % 256}.{i % 256}.0/24", oif=2, metric=i // 65536) for i in range(250_000)]
    lv.load(table[:200_000])
    for r in table[200_000:]:  # past the first 200,000 too, one notification at a time
        lv.apply(Event(kind="new", route=r))
    assert len(lv) == 250_000
    engine = CompletionEngine(lv)

    def numeric(word):
        return ipaddress.ip_network(word).network_address

    matching = sorted({str(r.dst) for r in table if str(r.dst).startswith("10.200.1")})
    assert words(engine, "route del 10.200.1") == sorted(matching, key=numeric)  # 10.200.1, .1x, .1xx
    # more than are shown: the first in text order (10.2.*, then 10.20.*), shown in the kernel's
    matching = sorted({str(r.dst) for r in table if str(r.dst).startswith("10.2")})
    assert len(matching) > MAX_SUGGESTIONS
    assert words(engine, "route del 10.2") == sorted(matching[:MAX_SUGGESTIONS], key=numeric)
    assert words(engine, "route del 10.200.17.") == ["10.200.17.0/24"]  # at metrics 0 and 3: one word
    for r in table[:196_608]:  # metrics 0-2 go; metric 3 keeps 10.0.0.0/24 ... 10.208.143.0/24
        lv.apply(Event(kind="del", route=r))
    assert len(lv) == 250_000 - 196_608
    assert words(engine, "route del 10.200.17.") == ["10.200.17.0/24"]
    assert words(engine, "route del 10.208.14") == ["10.208.14.0/24", "10.208.140.0/24", "10.208.141.0/24",
                                                     "10.208.142.0/24", "10.208.143.0/24"]
    assert words(engine, "route del 10.209.") == []


def test_replacing_a_route_moves_its_gateway_and_keeps_one_word(live, engine):
    live.apply(Event(kind="new", route=route("10.0.0.0/8", gateway="10.98.0.7")))  # the same key
    live.publish()
    assert words(engine, "route del 10.0") == ["10.0.0.0/8"]
    gateways = words(engine, "route add 10.5.0.0/16 via ")
    assert "10.98.0.7" in gateways and "10.99.0.2" not in gateways


def test_prefixes_are_shown_in_the_kernels_order(live):
    words_ = [p for p, _ in live.prefixes()]
    assert words_ == ["default", "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"]
    assert ipaddress.ip_network(words_[1])


def test_dash_j_is_transparent_to_completion(engine):
    assert words(engine, "route show -j root 10.") == ["10.0.0.0/8", "10.1.0.0/16"]
    assert words(engine, "-j route sh") == ["show"]
