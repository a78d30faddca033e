"""'| include RE', '| exclude RE', '| begin RE', '| count [RE]' after a
command that prints: parsed, completed, coloured and applied in every
output mode (the fake client stands in for the module)."""

import json

import pytest

from fakes import CliRun, FakeClient, route
from rtshell.commands import REGISTRY, HelpRequest, ParseError
from rtshell.commands.executor import Executor
from rtshell.commands.pipe import STAGES, split
from rtshell.completion import CompletionEngine, LiveValues
from rtshell.lexer import classify
from rtshell.render import Output


@pytest.fixture
def client():
    routes = [route(f"10.{i}.0.0/16", gateway=f"10.99.0.{1 + i % 3}", metric=i) for i in range(12)]
    routes.append(route("2001:db8::/32", oif=2))
    return FakeClient(routes)


@pytest.fixture
def run(client):
    return CliRun(client)


def parse(line):
    return Executor(Output("plain")).parse(line)


# -- the line ------------------------------------------------------------------------


@pytest.mark.parametrize("line, stage, pattern", [
    ("route show | include via 10.99.0.2", "include", "via 10.99.0.2"),
    ("route show | i 10.1|10.2", "include", "10.1|10.2"),  # the REGEX is the rest of the line
    ("route show table all | exclude metric [0-5]$", "exclude", "metric [0-5]$"),
    ("route show | e x", "exclude", "x"),
    ("route show | begin 10.5", "begin", "10.5"),
    ("route show | count", "count", None),
    ("route show | c via", "count", "via"),
    ('route show | include "via 10.99.0.2"', "include", "via 10.99.0.2"),  # quotes are not matched
    ("help | inc route", "include", "route"),
    ("ro sh | cou", "count", None),
])
def test_a_pipe_is_the_stage_and_the_rest_of_the_line(line, stage, pattern):
    pipe = parse(line).pipe
    assert pipe.stage == stage
    assert (pipe.pattern.pattern if pipe.pattern else None) == pattern


@pytest.mark.parametrize("line, message, at", [
    ("route show |", "'|' needs one of: include, exclude, begin, count", "|"),
    ("route show | grep x", "'grep' is no output filter", "grep"),
    ("route show | include", "include needs a REGEX", ""),
    ("route show | include (10", "include: bad REGEX: missing )", "(10"),
    ("route add 10.0.0.0/8 via 10.99.0.2 | count", "route add prints nothing to filter", "|"),
    ("watch | count", "watch prints nothing to filter", "|"),
    ("| count", "'|' needs a command before it", "|"),
    ("route shw | count", "route: unknown command 'shw'", "shw"),  # the command's own error first
])
def test_a_bad_pipe_points_at_its_word(line, message, at):
    with pytest.raises(ParseError) as info:
        parse(line)
    assert info.value.message.startswith(message), info.value.message
    assert line[info.value.start:info.value.end] == at


def test_a_bar_in_quotes_or_a_comment_is_no_pipe():
    assert split("route show # not | a pipe") is None
    assert split("save 'a|b'") is None
    assert split("route show | include a") == 11
    assert parse("route show # | count").pipe is None


def test_question_mark_after_the_bar_lists_the_stages():
    with pytest.raises(HelpRequest) as info:
        parse("route show | ?")
    assert info.value.expect.words() == list(STAGES)


def test_every_command_that_prints_takes_a_pipe_and_no_change_does():
    piped = {s.name for s in REGISTRY.specs if s.pipes}
    assert {"route show", "route get", "route lookup", "stats", "help", "diff", "explain", "monitor"} <= piped
    assert not {s.name for s in REGISTRY.specs if s.mutating} & piped


def test_completion_offers_the_stages_after_the_bar_and_nothing_in_the_regex():
    engine = CompletionEngine(LiveValues())
    assert [s.text for s in engine.complete("route show | ")] == list(STAGES)
    (only,) = engine.complete("route show | ex")
    assert (only.text, only.start) == ("exclude", -2)
    assert engine.complete("route show | include 10.") == []
    assert engine.help_rows("route show ")[-1][0] == "|"  # '?' at the end of a command that prints
    assert "|" not in [w for w, _ in engine.help_rows("route add 10.0.0.0/8 via 10.99.0.2 ")]
    assert engine.help_rows("route show | count ") == [("REGEX", STAGES["count"])]


def test_the_lexer_colours_the_bar_the_stage_and_the_regex():
    pieces = [p for p in classify("route show | inc via 10|11") if p[0] != "space"]
    assert pieces[-3:] == [("keyword", "|"), ("command", "inc"), ("value", " via 10|11")]
    assert ("error", "grep") in classify("route show | grep x")


# -- what it does ---------------------------------------------------------------------


def test_include_keeps_the_routes_whose_ip_words_match(run):
    assert run("-c", "route show | include via 10.99.0.2 ") == 0
    assert run.out.splitlines() == [f"10.{i}.0.0/16 via 10.99.0.2 metric {i} proto boot" for i in (1, 4, 7, 10)]
    assert run.err == ""


def test_exclude_begin_and_a_regex_with_its_own_bar(run):
    run("-c", "route show -4 | exclude via 10.99.0.[12] ")
    assert [line.split()[0] for line in run.out.splitlines()] == ["10.2.0.0/16", "10.5.0.0/16",
                                                                   "10.8.0.0/16", "10.11.0.0/16"]
    run("-c", "route show -4 | begin ^10.9.")
    assert [line.split()[0] for line in run.out.splitlines()] == ["10.9.0.0/16", "10.10.0.0/16", "10.11.0.0/16"]
    run("-c", "route show | include ^10.(3|11)\\.")
    assert [line.split()[0] for line in run.out.splitlines()] == ["10.3.0.0/16", "10.11.0.0/16"]


def test_count_says_how_many_routes_or_how_many_match(run):
    run("-c", "route show table all | count")
    assert run.out == "13\n"
    run("-c", "route show | count via 10.99.0.3")
    assert run.out == "4\n"
    run("-j", "-c", "route show | count metric 1")  # 1, 10, 11
    assert json.loads(run.out) == {"count": 3}


def test_json_stays_one_array_of_the_matching_routes(run):
    assert run("-j", "-c", "route show | include via 10.99.0.1 ") == 0
    doc = json.loads(run.out)
    assert [r["dst"] for r in doc] == ["10.0.0.0/16", "10.3.0.0/16", "10.6.0.0/16", "10.9.0.0/16"]


def test_a_rich_table_keeps_its_header_and_counts_what_it_shows(client):
    import io

    out = io.StringIO()
    ex = Executor(Output("rich", file=out, err=io.StringIO(), color=False, width=100), client=client)
    assert ex.run_line("route show | include 10.99.0.3")
    text = out.getvalue()
    assert "Destination" in text and "4 routes" in text
    assert "10.2.0.0/16" in text and "10.0.0.0/16" not in text
    assert ex.output is not None and not hasattr(ex.output.file, "run")  # the pipe is gone after the command


def test_other_output_is_filtered_line_by_line(run):
    assert run("-c", "help | include ^  route (add|del) ") == 0
    assert [line.split()[1] for line in run.out.splitlines()] == ["add", "del"]
    run("-c", "stats | include ^routes")
    assert run.out.splitlines() == ["routes4 12", "routes6 1"]
    run("-c", "explain route add 10.0.0.0/8 via 10.99.0.2 | count ^hex")
    assert run.out == "1\n"


def test_errors_are_not_filtered(run):
    assert run("-c", "route get 10.77.0.0/16 | include nothing") == 1
    assert "ENOENT" in run.err and run.out == ""


def test_a_pipe_in_a_batch_file_applies_to_its_line_only(run):
    assert run("-b", "-", stdin="route show -4 | count\nroute show | include 10.11.0.0\n") == 0
    assert run.out.splitlines() == ["12", "10.11.0.0/16 via 10.99.0.3 metric 11 proto boot"]
