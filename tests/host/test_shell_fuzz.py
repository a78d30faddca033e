"""The shell fed random command lines: it never dies, a line that does not
parse says so in one error and changes nothing, and Tab never fails.

Lines are walks through the completion engine (each word one Tab would
offer, or a word it would not), so they reach deep into every command's
grammar, then run through the real parser and executor against the fake
client, on a plain output and on a terminal's.  The module is attacked the
same way in the VM (stress/, make stress).
"""

import contextlib
import io
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import FakeClient, fake_devices, route
from rtshell.commands import Executor
from rtshell.commands.registry import REGISTRY, HelpRequest, ParseError
from rtshell.completion import CompletionEngine, LiveValues
from rtshell.render import Output

ROUTES = [route("10.0.0.0/8", gateway="10.99.0.2"), route("10.1.0.0/16", oif=2, table=100),
          route("2001:db8::/32", oif=3), route("192.0.2.0/24", type=2)]
#: words Tab would not offer: values out of range, broken quoting, stray syntax
ODD_WORDS = ["", "x", "10.0.0.0/33", "10.0.0.1/8", "2001:db8::/129", "999999999999", "-1", "4294967296",
             "0x10", "'", '"', "'unclosed", "|", "| include (", "| include", "||", "?", "#", ";", "\\", "\x00",
             "é", "dev", "via", "nexthop", "weight", "0", "metric", "table", "all", "default", "::", "-j", "--force"]
#: commands that wait for the user (Ctrl-C, a full screen) or leave: not run here
WAITING = {("monitor",), ("watch",), ("exit",)}

#: values a user types that Tab does not offer (new prefixes, addresses, numbers)
TYPED = ["10.9.0.0/16", "10.9.1.0/24", "10.1.0.0/16", "2001:db8:9::/48", "10.99.0.7", "10.98.0.2", "2001:db8::1",
         "10.0.0.1", "7", "100", "65535", "dummy0", "dummy1", "main", "static"]


def _engine() -> CompletionEngine:
    live = LiveValues(fake_devices())
    live.load(ROUTES)  # Tab offers the table's own prefixes and gateways, as in the shell
    live.publish(force=True)
    return CompletionEngine(live)


ENGINE = _engine()


#: the registry's own examples: the lines users are shown, to start from
EXAMPLES = [e for spec in REGISTRY.specs for e in spec.examples]


def walk(pick, count: int, odd) -> str:
    """A line of ``count`` words: each one Tab offers (``pick`` chooses), or an ``odd()`` one."""
    text = ""
    for _ in range(count):
        offered = [s.text for s in ENGINE.complete(text)]  # Tab must never fail, whatever came before
        if not offered and text and pick(range(10)) < 6:
            break  # mostly, a line ends where Tab has nothing more to offer
        text += (pick(offered) if offered and pick(range(10)) < 7 else odd()) + " "
    return text


def edit(pick, odd) -> str:
    """An example with words dropped, replaced (by one Tab offers there, or an odd one), or cut off."""
    words = pick(EXAMPLES).split()
    for _ in range(pick(range(4))):
        i = pick(range(len(words) + 1))
        how = pick(("drop", "odd", "tab", "tab", "cut"))
        if how == "drop" and i < len(words):
            del words[i]
        elif how == "odd":
            words[i:i + 1] = [odd()]
        elif how == "tab":
            offered = [s.text for s in ENGINE.complete(" ".join(words[:i] + [""]))]
            if offered:
                words[i:i + 1] = [pick(offered)]
        elif how == "cut":
            words = words[:i]
    return " ".join(words)


def line(pick, odd) -> str:
    return edit(pick, odd) if pick((True, False)) else walk(pick, pick(range(1, 11)), odd)


@st.composite
def lines(draw):
    text = line(lambda options: draw(st.sampled_from(list(options))),
                lambda: draw(st.sampled_from(TYPED * 4 + ODD_WORDS) | st.text(max_size=6)))
    return text + " " if draw(st.booleans()) else text


def test_the_lines_reach_most_commands_and_change_the_table():
    rnd = random.Random(5)
    seen, parsed, changed = set(), 0, 0
    for _ in range(400):
        text = line(rnd.choice, lambda: rnd.choice(TYPED * 4 + ODD_WORDS))
        client = FakeClient(ROUTES)
        ex = Executor(Output("plain", file=io.StringIO(), err=io.StringIO(), devices=fake_devices()),
                      devices=fake_devices(), client_factory=lambda: client)
        try:
            p = ex.parse(text)
        except (ParseError, HelpRequest):
            continue
        if p is None or p.spec.path in WAITING or p.spec.path in (("save",), ("batch",), ("restore",)):
            continue
        parsed += 1
        seen.add(p.spec.path)
        before = dict(client.table)
        ex.run_line(text)
        changed += client.table != before
    assert parsed >= 100 and changed >= 10, (parsed, changed)
    assert len(seen) >= 18, sorted(seen)  # of the 23 commands run here


def run(text: str, ex: Executor, client: FakeClient, err: io.StringIO) -> None:
    try:
        parsed = ex.parse(text)
    except HelpRequest:
        parsed = None
    except ParseError:
        before = dict(client.table)
        assert ex.run_line(text) is False  # must not raise
        shown = re.sub(r"\x1b\[[0-9;]*m", "", err.getvalue())
        errors = [l for l in shown.splitlines() if l.startswith("error")]
        assert len(errors) == 1, err.getvalue()
        assert client.table == before
        return
    if parsed is not None and parsed.spec.path in WAITING:
        return
    ex.run_line(text)  # whatever it does, it returns


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_random_lines_on_a_plain_output(tmp_path_factory, text):
    client = FakeClient(ROUTES)
    out, err = io.StringIO(), io.StringIO()
    ex = Executor(Output("plain", file=out, err=err, devices=fake_devices()), devices=fake_devices(),
                  client_factory=lambda: client)
    with contextlib.chdir(tmp_path_factory.mktemp("cwd")):  # save and batch write and read here
        run(text, ex, client, err)


class Tty(io.StringIO):
    def isatty(self):
        return True


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_random_lines_on_a_terminal(tmp_path_factory, text):
    client = FakeClient(ROUTES)
    out = Tty()
    err = io.StringIO()
    output = Output("rich", file=out, err=err, devices=fake_devices(), width=100)
    ex = Executor(output, devices=fake_devices(), client_factory=lambda: client)
    ex.paginate = False
    with contextlib.chdir(tmp_path_factory.mktemp("cwd")):
        run(text, ex, client, err)
