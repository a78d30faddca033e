"""The command registry: help, completion, validation and dispatch read it.

Commands register with the :func:`command` decorator (litecli's habit).  A
command is reached by a path of words (``route add``); the registry keeps
them as a tree so that completion can offer the words at each level and an
unknown word can be pointed at.

:func:`parse` is the one parser: a line becomes a :class:`Parsed` (the
command, its values, and, for commands that talk to the kernel, the
:class:`~rtshell.commands.request.Request` it will send), or a ParseError
that points at the offending word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from rtshell.commands.grammar import (
    Expect, HelpRequest, ParseError, Syntax, Token, Walk, closest, tokenize,
)


@dataclass
class CommandSpec:
    path: tuple[str, ...]
    syntax: Syntax
    summary: str
    handler: Callable[..., Any]
    help: str = ""
    request: Optional[Callable[["Parsed", Any], Any]] = None  # -> Request
    check: Optional[Callable[["Parsed", Any], None]] = None  # cross-word checks
    aliases: tuple[tuple[str, ...], ...] = ()
    mutating: bool = False
    examples: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def usage(self) -> str:
        tail = self.syntax.usage()
        return f"{self.name} {tail}" if tail else self.name


@dataclass
class Node:
    """A word in the command tree: a command, a group of commands, or both."""

    word: str
    help: str = ""
    spec: Optional[CommandSpec] = None
    children: dict[str, "Node"] = field(default_factory=dict)
    hidden: bool = False  # an alias: accepted, not offered


class Registry:
    def __init__(self) -> None:
        self.root = Node("")
        self.specs: list[CommandSpec] = []

    def group(self, path: str, help: str) -> None:
        node = self._node(tuple(path.split()), create=True)
        node.help = help

    def register(self, spec: CommandSpec) -> None:
        self.specs.append(spec)
        node = self._node(spec.path, create=True)
        node.spec = spec
        node.help = spec.summary
        for alias in spec.aliases:
            anode = self._node(alias, create=True)
            anode.spec = spec
            anode.help = spec.summary
            anode.hidden = True

    def _node(self, path: tuple[str, ...], create: bool = False) -> Node:
        node = self.root
        for word in path:
            nxt = node.children.get(word)
            if nxt is None:
                if not create:
                    raise KeyError(word)
                nxt = node.children[word] = Node(word)
            node = nxt
        return node

    def find(self, name: str) -> Optional[CommandSpec]:
        try:
            return self._node(tuple(name.split())).spec
        except KeyError:
            return None

    def resolve(self, tokens: list[Token], end: int = 0) -> tuple[Node, int]:
        """Walk the command words; returns the node reached and words used.

        Raises ParseError for a word that is no command there, or a line
        that stops at a group (``route``).
        """
        node = self.root
        i = 0
        while i < len(tokens) and tokens[i].text in node.children:
            node = node.children[tokens[i].text]
            i += 1
            if node.spec is not None and not node.children:
                break
        if node.spec is not None:
            return node, i
        words = [w for w, n in node.children.items() if not n.hidden]
        if i < len(tokens):
            tok = tokens[i]
            if tok.text == "?":
                raise HelpRequest(Expect(keywords=self.offers(node)), " ".join(t.text for t in tokens[:i]))
            where = f"{node.word}: " if node.word else ""
            raise ParseError.at(tok, f"{where}unknown command '{tok.text}'" + closest(tok.text, words)
                                + ("" if node.word else " (try help)"))
        pos = tokens[-1].end + 1 if tokens else end
        raise ParseError(f"{node.word or 'command'} needs one of: {', '.join(words)}", pos, pos + 1)

    def offers(self, node: Node) -> list[tuple[str, str]]:
        return [(w, n.help) for w, n in node.children.items() if not n.hidden]


REGISTRY = Registry()


def command(path: str, syntax: Syntax, summary: str, **kw) -> Callable:
    """Register the decorated handler(executor, parsed) as command ``path``."""
    aliases = tuple(tuple(a.split()) for a in kw.pop("aliases", ()))

    def deco(fn: Callable) -> Callable:
        REGISTRY.register(CommandSpec(tuple(path.split()), syntax, summary, fn, aliases=aliases, **kw))
        return fn

    return deco


@dataclass
class Parsed:
    spec: CommandSpec
    values: dict[str, Any]
    tokens: list[Token]
    line: str
    where: dict[Any, Token]
    used: int = 1  # how many words named the command
    json: bool = False  # -j on the line: JSON output for this command
    request: Any = None  # Requests, for commands that talk to the kernel

    @property
    def args(self) -> list[Token]:
        return self.tokens[self.used:]

    def token(self, dest, default_pos: int = 0) -> Token:
        """The token that gave ``dest`` (for errors that point at a word)."""
        tok = self.where.get(dest)
        if tok is not None:
            return tok
        if self.tokens:
            last = self.tokens[-1]
            return Token("", last.end + 1, last.end + 2)
        return Token("", default_pos, default_pos + 1)

    def error(self, dest, message: str) -> ParseError:
        return ParseError.at(self.token(dest), message)


def parse(line: str, ctx, registry: Registry = REGISTRY) -> Optional[Parsed]:
    """Parse one line; None for a blank line or a comment.

    ctx supplies ``convert`` (kind, text) -> value.  Raises ParseError, or
    HelpRequest when the line holds a '?'.
    """
    tokens = tokenize(line)
    if not tokens:
        return None
    return parse_tokens(tokens, line, ctx, registry)


JSON_FLAG = "-j"  # anywhere on a line: this command's output as JSON


def parse_tokens(tokens: list[Token], line: str, ctx, registry: Registry = REGISTRY) -> Parsed:
    as_json = any(t.text == JSON_FLAG for t in tokens)
    tokens = [t for t in tokens if t.text != JSON_FLAG]
    if not tokens:
        raise ParseError("-j needs a command", 0, len(line), line.strip())
    node, used = registry.resolve(tokens, len(line))
    spec = node.spec
    walk = Walk(spec.syntax, ctx.convert, strict=True)
    for tok in tokens[used:]:
        walk.feed(tok)
    values = walk.finish(len(line))
    parsed = Parsed(spec, values, tokens, line, walk.where, used, json=as_json)
    if spec.check is not None:
        spec.check(parsed, ctx)
    if spec.request is not None:
        parsed.request = spec.request(parsed, ctx)
    return parsed
