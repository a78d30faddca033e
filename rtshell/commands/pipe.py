"""What may follow a command after '|': vtysh's and IOS's output filters.

``route show table all | include via 10.99.0.2`` keeps the routes whose
words match; ``| exclude RE`` the others; ``| begin RE`` everything from the
first match on; ``| count [RE]`` prints only how many (matching) routes or
lines there were.  As in IOS the regular expression is the rest of the line,
so it may hold a '|' of its own (``| include 10.1|10.2``).  Each stage is
named by any unique prefix (``| i``, ``| inc``).

Routes are matched on their ``ip`` words (``10.1.0.0/16 via 10.99.0.2 dev
eth0 metric 5``) whatever the output mode, so a table keeps its header and a
JSON array stays an array; any other output is matched line by line on its
text without colour.

This module only reads the line; :mod:`rtshell.render` applies a
:class:`PipeRun` to what a command prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from rtshell.commands.grammar import Expect, HelpRequest, ParseError, closest

STAGES: dict[str, str] = {
    "include": "only what matches REGEX",
    "exclude": "all but what matches REGEX",
    "begin": "from the first match of REGEX on",
    "count": "how many routes (or lines) there are, or match REGEX",
}
NEEDS_REGEX = frozenset({"include", "exclude", "begin"})
HELP_ROW = ("|", "filter the output: " + ", ".join(STAGES))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class Pipe:
    stage: str  # one of STAGES
    pattern: Optional[re.Pattern]  # None: count everything
    text: str  # what follows '|', as typed

    def run(self) -> "PipeRun":
        return PipeRun(self)


class PipeRun:
    """One command's pass through a pipe: which lines or routes it keeps,
    and how many matched (for count)."""

    def __init__(self, pipe: Pipe):
        self.pipe = pipe
        self.count = 0
        self._begun = False

    @property
    def counting(self) -> bool:
        return self.pipe.stage == "count"

    def keep(self, text: str) -> bool:
        """Whether a line (or a route's words) is shown; counts matches."""
        pattern = self.pipe.pattern
        found = pattern is None or pattern.search(_ANSI.sub("", text)) is not None
        stage = self.pipe.stage
        if stage == "include":
            return found
        if stage == "exclude":
            return not found
        if stage == "begin":
            self._begun = self._begun or found
            return self._begun
        self.count += found  # count: nothing shown
        return False


def stage_of(word: str) -> Optional[str]:
    """The stage a word names (itself or a unique prefix), or None."""
    found = [s for s in STAGES if s.startswith(word)] if word else []
    return found[0] if len(found) == 1 else None


def pieces(tail: str) -> list[tuple[str, str]]:
    """A pipe as typed ('| inc via 10.9'), as the lexer's (role, text) pieces."""
    m = re.match(r"(\|)(\s*)(\S*)(.*)", tail, re.S)
    assert m is not None
    bar, space, word, rest = m.groups()
    out = [("keyword", bar), ("space", space)]
    if word:
        out.append(("command" if stage_of(word) or word == "?" else "error", word))
    if rest:
        out.append(("value", rest))
    return [p for p in out if p[1]]


def split(line: str) -> Optional[int]:
    """Where the line's pipe bar is: the first '|' outside quotes and before
    a comment; None when there is none."""
    if "|" not in line:
        return None
    quote = ""
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return None
        elif c == "|":
            return i
    return None


def parse(line: str, bar: int) -> Pipe:
    """The pipe that starts at ``line[bar]`` ('|').  ParseError points at
    the stage word or the expression; '?' asks what may come."""
    m = re.match(r"\s*(\S*)", line[bar + 1:])
    assert m is not None
    word = m.group(1)
    start = bar + 1 + m.start(1)
    end = start + len(word)
    if word == "?":
        raise HelpRequest(Expect(keywords=list(STAGES.items()), end_ok=False), line[:bar + 1])
    if not word:
        raise ParseError(f"'|' needs one of: {', '.join(STAGES)}", bar, bar + 1, "|")
    stage = stage_of(word)
    if stage is None:
        raise ParseError(f"'{word}' is no output filter; use one of: {', '.join(STAGES)}"
                         + closest(word, STAGES), start, end, word)
    expr = line[end:].strip()
    if expr == "?":
        raise HelpRequest(Expect(values=[("regex", "REGEX", STAGES[stage])], end_ok=stage == "count"),
                          line[:end])
    if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "\"'":
        expr = expr[1:-1]  # "via 10.99.0.2": the words, not the quotes
    at = line.find(expr, end) if expr else len(line)
    if not expr:
        if stage in NEEDS_REGEX:
            raise ParseError(f"{stage} needs a REGEX", len(line.rstrip()), len(line.rstrip()) + 1)
        return Pipe(stage, None, line[bar + 1:].strip())
    try:
        pattern = re.compile(expr)
    except re.error as exc:
        raise ParseError(f"{stage}: bad REGEX: {exc.msg}", at, at + len(expr), expr) from None
    return Pipe(stage, pattern, line[bar + 1:].strip())
