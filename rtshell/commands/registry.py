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

from rtshell.commands import pipe as pipes
from rtshell.commands.grammar import (
    Expect, HelpRequest, ParseError, Syntax, Token, Walk, closest, tokenize,
)
from rtshell.commands.pipe import Pipe


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
    paged: bool = False  # on a terminal, output longer than the screen goes through the pager
    piped: bool = False  # takes '| include RE' and the other output filters (paged ones do)

    @property
    def pipes(self) -> bool:
        return self.paged or self.piped

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
    shortcuts: dict[str, str] = field(default_factory=dict)  # 'a' -> 'add': ip's fixed ones


@dataclass
class Reach:
    """How far a line's words go down the command tree (:meth:`Registry.reach`)."""

    node: Node  # the command (or group) the words reach
    used: int  # how many words named it
    path: tuple[str, ...] = ()  # those words spelled out in full
    ambiguous: tuple[str, ...] = ()  # words[used] abbreviates each of these


def command_target(node: Node) -> object:
    """What a child stands for: an alias and its command are one target."""
    return node.spec if node.spec is not None and not node.children else node


class Registry:
    def __init__(self) -> None:
        self.root = Node("")
        self.specs: list[CommandSpec] = []

    def group(self, path: str, help: str, shortcuts: Optional[dict[str, str]] = None) -> None:
        node = self._node(tuple(path.split()), create=True)
        node.help = help
        node.shortcuts.update(shortcuts or {})

    def shortcut(self, path: str, short: str, word: str) -> None:
        """``short`` stands for ``word`` under ``path`` even where it is no unique prefix
        (ip's ``r`` = route, ``a`` = add)."""
        self._node(tuple(path.split()), create=True).shortcuts[short] = word

    def step(self, node: Node, word: str) -> tuple[Optional[Node], tuple[str, ...]]:
        """The child ``word`` names: the word itself, a shortcut, or a unique
        prefix (of a command and its aliases).  (None, candidates) when it
        is ambiguous; (None, ()) when it names nothing."""
        child = node.children.get(word)
        if child is not None:
            return child, ()
        short = node.shortcuts.get(word)
        if short is not None:
            return node.children[short], ()
        found: dict[int, tuple[str, Node]] = {}
        for w, n in node.children.items():
            if w.startswith(word):
                key = id(command_target(n))
                if key not in found or found[key][1].hidden and not n.hidden:
                    found[key] = (w, n)
        if any(not n.hidden for _, n in found.values()):  # the words offered come first
            found = {k: (w, n) for k, (w, n) in found.items() if not n.hidden}
        if len(found) == 1:
            (_, n), = found.values()
            return n, ()
        return None, tuple(sorted(w for w, _ in found.values()))

    def reach(self, words: list[str]) -> Reach:
        """Walk the command words from the root; stops at a command that
        takes no more command words, or at the first word that names none."""
        node = self.root
        path: list[str] = []
        while len(path) < len(words):
            nxt, candidates = self.step(node, words[len(path)])
            if nxt is None:
                return Reach(node, len(path), tuple(path), candidates)
            node = nxt
            path.append(node.word)
            if node.spec is not None and not node.children:
                break
        return Reach(node, len(path), tuple(path))

    def register(self, spec: CommandSpec) -> None:
        self.specs.append(spec)
        node = self._node(spec.path, create=True)
        node.spec = spec
        node.help = spec.summary
        for alias in spec.aliases:
            for depth in range(1, len(alias)):  # 'set' of 'set lenient': no group to offer
                try:
                    self._node(alias[:depth])
                except KeyError:
                    self._node(alias[:depth], create=True).hidden = True
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
        reach = self.reach([t.text for t in tokens])
        node, i = reach.node, reach.used
        if node.spec is not None:
            return node, i
        words = [w for w, n in node.children.items() if not n.hidden]
        if i < len(tokens):
            tok = tokens[i]
            if tok.text == "?":
                raise HelpRequest(Expect(keywords=self.offers(node)), " ".join(t.text for t in tokens[:i]))
            where = f"{node.word}: " if node.word else ""
            if reach.ambiguous:
                raise ParseError.at(tok, f"{where}'{tok.text}' is ambiguous: {', '.join(reach.ambiguous)}")
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
    dropped: list[list[Token]] = field(default_factory=list)  # foreign words a lenient parse left out
    skip: Optional[str] = None  # why a lenient parse leaves the whole line out (then nothing runs)
    pipe: Optional[Pipe] = None  # '| include RE' and the like after the command

    @property
    def text(self) -> str:
        """The command as its words, one space apart (what a request says it asked)."""
        return " ".join(t.text for t in self.tokens)

    def dropped_text(self) -> str:
        """'scope link, src 10.0.0.1': what a lenient parse left out."""
        return ", ".join(" ".join(t.text for t in words) for words in self.dropped)

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
    bar = pipes.split(line)
    tokens = tokenize(line if bar is None else line[:bar])
    if not tokens:
        if bar is not None:
            raise ParseError("'|' needs a command before it", bar, bar + 1, "|")
        return None
    parsed = parse_tokens(tokens, line, ctx, registry)  # the command first: its errors come first
    if bar is not None:
        if not parsed.spec.pipes:
            raise ParseError(f"{parsed.spec.name} prints nothing to filter with '|'", bar, bar + 1, "|")
        parsed.pipe = pipes.parse(line, bar)
    return parsed


JSON_FLAG = "-j"  # anywhere on a line: this command's output as JSON


def ip_words(tokens: list[Token]) -> list[Token]:
    """A line pasted from ip: 'ip -6 route add ...' is 'route add ... -6'."""
    if len(tokens) < 2 or tokens[0].text != "ip":
        return tokens
    tokens = tokens[1:]
    flags = 0
    while flags < len(tokens) and tokens[flags].text.startswith("-"):
        flags += 1
    return tokens[flags:] + tokens[:flags]


def parse_tokens(tokens: list[Token], line: str, ctx, registry: Registry = REGISTRY) -> Parsed:
    as_json = any(t.text == JSON_FLAG for t in tokens)
    tokens = ip_words([t for t in tokens if t.text != JSON_FLAG])
    if not tokens:
        raise ParseError("-j needs a command", 0, len(line), line.strip())
    node, used = registry.resolve(tokens, len(line))
    spec = node.spec
    walk = Walk(spec.syntax, ctx.convert, strict=True, lenient=getattr(ctx, "lenient", False))
    for tok in tokens[used:]:
        walk.feed(tok)
    values = walk.finish(len(line))
    parsed = Parsed(spec, values, tokens, line, walk.where, used, json=as_json,
                    dropped=walk.dropped, skip=walk.skip)
    if parsed.skip is not None:
        return parsed
    family = getattr(ctx, "family", None)
    if family is not None and "family" not in values and any(o.dest == "family" for o in spec.syntax.options):
        values["family"] = family  # rtshell -6: the family of every command that has one
    if spec.check is not None:
        spec.check(parsed, ctx)
    if spec.request is not None:
        parsed.request = spec.request(parsed, ctx)
    return parsed
