"""Syntax highlighting from the grammar: command words, keywords, values,
and the word the parser would refuse, as the line is typed."""

from __future__ import annotations

from typing import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer

from rtshell.commands import pipe as pipes
from rtshell.commands.grammar import HelpRequest, ParseError, Walk, tokenize_lenient
from rtshell.commands.registry import REGISTRY, Registry

STYLES = {
    "command": "class:command",
    "keyword": "class:keyword",
    "value": "class:value",
    "error": "class:error",
    "comment": "class:comment",
    "space": "",
}


def classify(line: str, convert=None, registry: Registry = REGISTRY) -> list[tuple[str, str]]:
    """The line as (role, text) pieces; roles: command, keyword, value, error, comment, space."""
    bar = pipes.split(line)
    if bar is not None:  # '| include RE': its own words
        return classify(line[:bar], convert, registry) + pipes.pieces(line[bar:])
    body, comment = line, ""
    tokens = tokenize_lenient(line)
    if tokens:
        cut = line.find("#", tokens[-1].end)
        if cut >= 0:
            body, comment = line[:cut], line[cut:]
    elif line.lstrip().startswith("#"):
        cut = line.index("#")
        body, comment = line[:cut], line[cut:]
    reach = registry.reach([t.text for t in tokens])
    node, i = reach.node, reach.used
    roles: list[str] = ["command"] * i
    bad: list[tuple[int, int]] = []
    if node.spec is None:
        roles += ["error" if t.text != "?" else "keyword" for t in tokens[i:]]
    else:
        walk = Walk(node.spec.syntax, convert, strict=False)
        for tok in tokens[i:]:
            roles.append(walk.role(tok.text))
            if tok.text == "-j":
                continue  # a line modifier, not part of the command
            try:
                walk.feed(tok)
            except (HelpRequest, ParseError):
                pass
        bad = [(e.start, e.end) for e in walk.errors]
    out: list[tuple[str, str]] = []
    pos = 0
    for tok, role in zip(tokens, roles):
        if any(s < tok.end and tok.start < e for s, e in bad):
            role = "error"
        if tok.start > pos:
            out.append(("space", body[pos:tok.start]))
        out.append((role, body[tok.start:tok.end]))
        pos = tok.end
    if pos < len(body):
        out.append(("space", body[pos:]))
    if comment:
        out.append(("comment", comment))
    return out


class ShellLexer(Lexer):
    def __init__(self, convert: Callable = None):
        self.convert = convert

    def lex_document(self, document: Document):
        lines = document.lines

        def get_line(lineno: int):
            try:
                pieces = classify(lines[lineno], self.convert)
            except Exception:
                return [("", lines[lineno])]
            return [(STYLES[role], text) for role, text in pieces]

        return get_line
