"""Inline validation: what is wrong with the line being typed, before Enter.

The line goes through the one parser; the first ParseError is the problem,
with the offending word's position.  A problem at the very end of the line
(a keyword still waiting for its value, a missing prefix) is only
*incomplete*: the toolbar shows it quietly, since the user is still typing.
``explain COMMAND`` is checked through to the command it explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rtshell.commands.grammar import HelpRequest, ParseError, tokenize_lenient
from rtshell.commands.registry import parse, parse_tokens


@dataclass(frozen=True)
class Problem:
    message: str
    start: int
    end: int
    incomplete: bool  # the line merely stops early


def check(text: str, ctx) -> Optional[Problem]:
    """None when the line parses (or is blank), else the first problem."""
    if not text.strip():
        return None
    try:
        parsed = parse(text, ctx)
        if parsed is not None and parsed.spec.name == "explain":
            rest = parsed.values.get("command") or []
            if rest:
                parse_tokens(list(rest), text, ctx)
    except HelpRequest:
        return None
    except ParseError as exc:
        return _problem(text, exc)
    except Exception:  # an open quote while typing, and the like: not an error yet
        try:
            tokenize_lenient(text)
        except Exception:
            pass
        return None
    return None


def _problem(text: str, exc: ParseError) -> Problem:
    stripped = len(text.rstrip())
    incomplete = exc.start >= stripped or (exc.end >= stripped and "needs" in exc.message)
    return Problem(exc.message, exc.start, exc.end, incomplete)
