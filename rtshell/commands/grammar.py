"""The one grammar: words, the syntax of a command, and one walk over both.

A command line is split into tokens that remember where they stand in the
line (so an error can point at the offending word).  A :class:`Syntax`
declares what a command takes:

* positionals (:class:`Pos`): filled in order by words that are not
  keywords, anywhere on the line, like ``ip route`` (``route add blackhole
  10.0.0.0/8``: an optional *choice* positional takes a word only if it is one
  of its choices, otherwise the walk moves on to the next positional);
* options (:class:`Opt`): a keyword and a value (``via 10.0.0.1``) or a bare
  flag (``-6``), in any order, each once unless ``repeat``;
* groups (:class:`Group`): a keyword that opens a repeated sub-list with its
  own options (``nexthop via GW dev IF weight W``); inside a group its
  options shadow the top-level ones of the same name;
* rest (``explain COMMAND``, ``help COMMAND``): the rest of the line, raw.

:class:`Walk` feeds tokens through a syntax.  The parser runs it strictly
(every error raised, values converted); completion, validation and the
lexer run the same walk leniently and ask :meth:`Walk.expect` what may come
next.  So the shell, ``-c``, batch files and completion cannot disagree.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional


# kind -> "a gateway address": filled in by rtshell.commands.kinds
KIND_TEXT: dict[str, str] = {}


class Token(NamedTuple):
    text: str
    start: int
    end: int


class ParseError(ValueError):
    """A line that does not parse; ``start``/``end`` locate the offending word."""

    def __init__(self, message: str, start: int = 0, end: int = 0, word: str = ""):
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = max(end, start)
        self.word = word

    @classmethod
    def at(cls, token: Token, message: str) -> "ParseError":
        return cls(message, token.start, token.end, token.text)

    def pointer(self, line: str, indent: int = 0) -> str:
        """The line, and a caret line under the offending word."""
        width = max(1, self.end - self.start)
        return f"{' ' * indent}{line}\n{' ' * (indent + self.start)}{'^' * width}"

    def __str__(self) -> str:
        return self.message


class HelpRequest(Exception):
    """A '?' typed where a word may go: show what may come next."""

    def __init__(self, expect: "Expect", prefix: str):
        super().__init__(prefix)
        self.expect = expect
        self.prefix = prefix


_WORDS = re.compile(r"\S+")
_KEYWORD_LIKE = re.compile(r"-?[a-z][a-z0-9_-]*$")  # what may abbreviate a keyword
FREE_KINDS = frozenset({"file", "command", "help"})  # values that may be any word


def tokenize(line: str) -> list[Token]:
    """Split on blanks; quotes group words ('my file'); '#' starts a comment."""
    if '"' not in line and "'" not in line and "#" not in line:  # most lines: words only
        return [Token(m.group(), m.start(), m.end()) for m in _WORDS.finditer(line)]
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] == "#":
            break
        start = i
        text = []
        while i < n and not line[i].isspace():
            c = line[i]
            if c in "\"'":
                close = line.find(c, i + 1)
                if close < 0:
                    raise ParseError("unterminated quote", i, n, line[i:])
                text.append(line[i + 1:close])
                i = close + 1
            else:
                text.append(c)
                i += 1
        tokens.append(Token("".join(text), start, i))
    return tokens


def tokenize_lenient(line: str) -> list[Token]:
    """tokenize(), but an open quote runs to the end of the line (typing)."""
    try:
        return tokenize(line)
    except ParseError as exc:  # close the quote that is open (the other kind may be inside it)
        return tokenize(line + line[exc.start])


def closest(word: str, choices) -> str:
    """' (did you mean X?)' when a choice is close to word, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


@dataclass(frozen=True)
class Opt:
    """A keyword option: with a value of ``kind``, or a flag (kind None)."""

    keyword: str
    dest: str
    kind: Optional[str] = None
    help: str = ""
    meta: str = ""
    aliases: tuple[str, ...] = ()
    const: Any = True  # what a flag stores
    also: tuple[tuple[str, Any], ...] = ()  # more (dest, value) to store
    excl: Optional[str] = None  # options sharing excl exclude each other
    repeat: bool = False  # may appear again; values gathered in a list

    def words(self) -> tuple[str, ...]:
        return (self.keyword,) + self.aliases

    def usage(self) -> str:
        if self.kind is None:
            return self.keyword
        return f"{self.keyword} {self.meta or self.kind.upper()}"


@dataclass(frozen=True)
class Pos:
    """A positional value.  kind 'choice' takes only one of ``choices``."""

    dest: str
    kind: str
    help: str = ""
    meta: str = ""
    required: bool = True
    many: bool = False
    choices: tuple[str, ...] = ()
    leading: bool = False  # only before the positionals that follow it

    def usage(self) -> str:
        text = "|".join(self.choices) if self.kind == "choice" else (self.meta or self.dest.upper())
        if self.many:
            text += "..."
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class Group:
    """A repeatable keyword that opens its own option list."""

    keyword: str
    dest: str
    options: tuple[Opt, ...]
    help: str = ""

    def usage(self) -> str:
        inner = " ".join(f"[{o.usage()}]" for o in self.options)
        return f"[{self.keyword} {inner}]..."


class Foreign(NamedTuple):
    """A word of another tool's language that this one has no meaning for
    (``scope link`` from an ``ip route`` line).  Refused with ``why``; a
    lenient walk drops it and its ``values`` instead (or, with ``line``, the
    whole line), unless ``never``: dropping it would change what is meant."""

    values: int
    why: str
    line: bool = False
    never: bool = False


@dataclass(frozen=True)
class Syntax:
    positionals: tuple[Pos, ...] = ()
    options: tuple[Opt, ...] = ()
    groups: tuple[Group, ...] = ()
    rest: Optional[Pos] = None  # the rest of the line, raw tokens
    noise: tuple[str, ...] = ()  # words that mean nothing here ('to' before a prefix)
    foreign: Optional[dict[str, Foreign]] = None

    def usage(self) -> str:
        parts = [p.usage() for p in self.positionals]
        parts += [f"[{o.usage()}]" for o in self.options]
        parts += [g.usage() for g in self.groups]
        if self.rest is not None:
            parts.append(self.rest.usage())
        return " ".join(parts)

    def keyword_map(self) -> dict[str, Opt]:
        return {w: o for o in self.options for w in o.words()}


@dataclass
class Expect:
    """What may come next at a point of a line."""

    keywords: list[tuple[str, str]] = field(default_factory=list)  # (word, help)
    values: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, meta, help)
    choices: list[tuple[str, str]] = field(default_factory=list)  # (word, help)
    rest: Optional[Pos] = None
    rest_tokens: list[Token] = field(default_factory=list)
    end_ok: bool = True  # may the line end here?
    values_so_far: dict = field(default_factory=dict)

    def words(self) -> list[str]:
        return [w for w, _ in self.keywords] + [w for w, _ in self.choices]

    def rows(self) -> list[tuple[str, str]]:
        """(word or <meta>, help) for everything that may come next: what `?` lists."""
        rows = list(self.choices)
        for kind, meta, help in self.values:
            rows.append((meta, help or KIND_TEXT.get(kind, kind)))
        rows += list(self.keywords)
        if self.rest is not None:
            rows.append((self.rest.meta or self.rest.dest.upper(), self.rest.help))
        if self.end_ok:
            rows.append(("<Enter>", "run the command"))
        return rows


Converter = Callable[[str, str], Any]


class Walk:
    """Feed tokens through a syntax.

    strict: raise the first ParseError; else record errors and carry on
    (completion and inline validation want to see past a bad word).
    convert(kind, text) turns a word into a value or raises ValueError;
    None keeps words as text.
    """

    def __init__(self, syntax: Syntax, convert: Optional[Converter] = None, strict: bool = True,
                 lenient: bool = False):
        self.syntax = syntax
        self.convert = convert
        self.strict = strict
        self.lenient = lenient  # drop foreign words (Syntax.foreign) instead of refusing them
        self.dropped: list[list[Token]] = []  # each: the foreign word and its values
        self.skip: Optional[str] = None  # why a lenient walk drops the whole line
        self._drop_left = 0
        self.values: dict[str, Any] = {}
        self.where: dict[Any, Token] = {}  # dest (or (group dest, i, dest)) -> token
        self.errors: list[ParseError] = []
        self.pending: Optional[tuple[Opt, Token]] = None
        self.group: Optional[tuple[Group, dict]] = None
        self.rest_tokens: Optional[list[Token]] = None
        self._keywords = syntax.keyword_map()
        self._groups = {g.keyword: g for g in syntax.groups}

    # -- errors -----------------------------------------------------------

    def fail(self, err: ParseError) -> None:
        if self.strict:
            raise err
        self.errors.append(err)

    def _value(self, kind: str, token: Token, what: str) -> Any:
        if self.convert is None:
            return token.text
        try:
            return self.convert(kind, token.text)
        except ValueError as exc:
            self.fail(ParseError.at(token, f"{what}: {exc}" if what else str(exc)))
            return token.text

    # -- the walk ---------------------------------------------------------

    def feed(self, token: Token) -> None:
        if self.rest_tokens is not None:
            self.rest_tokens.append(token)
            return
        if self.pending is not None:
            opt, kw = self.pending
            self.pending = None
            self._store_opt(opt, kw, self._value(opt.kind, token, f"'{kw.text}'"), token)
            return
        word = token.text
        if self._drop_left:
            self.dropped[-1].append(token)
            if word != "lock":  # ip's 'mtu lock 1400'
                self._drop_left -= 1
            return
        if word == "?":
            raise HelpRequest(self.expect(), "")
        if word in self.syntax.noise:
            return
        if self.group is not None:
            gopt = {w: o for o in self.group[0].options for w in o.words()}.get(word)
            if gopt is not None:
                self._group_option(gopt, token)
                return
        if word in self._groups:
            self._open_group(self._groups[word], token)
            return
        opt = self._keywords.get(word)
        if opt is not None:
            self._keyword(opt, token)
            return
        foreign = self.syntax.foreign.get(word) if self.syntax.foreign else None
        if foreign is not None:
            self._foreign(foreign, token)
            return
        found = self._abbreviated(word)
        if isinstance(found, Group):
            self._open_group(found, token)
        elif isinstance(found, Opt):
            if self.group is not None and any(found is o for o in self.group[0].options):
                self._group_option(found, token)
            else:
                self._keyword(found, token)
        elif found:
            self.fail(ParseError.at(token, f"'{word}' is ambiguous: {', '.join(found)}"))
        else:
            self._positional(token)

    def _abbreviated(self, word: str):
        """The keyword (Opt or Group) ``word`` is a unique prefix of, the
        candidates when it is ambiguous, or None.  A word where a free-form
        value may go (a file name) is that value, never an abbreviation."""
        if not _KEYWORD_LIKE.match(word):
            return None
        nxt = next(self._open_positionals(), None)
        if nxt is not None and (nxt.kind in FREE_KINDS or word in nxt.choices):
            return None
        if nxt is None and self.syntax.rest is not None and self.syntax.rest.dest not in self.values:
            return None
        scopes = []
        if self.group is not None:
            scopes.append([(w, o) for o in self.group[0].options for w in o.words()])
        scopes.append([(g.keyword, g) for g in self.syntax.groups]
                      + [(w, o) for w, o in self._keywords.items()])
        for scope in scopes:
            found: dict[int, str] = {}
            targets = {}
            for w, target in scope:
                if w.startswith(word) and id(target) not in found:
                    found[id(target)] = w
                    targets[id(target)] = target
            if len(found) == 1:
                return next(iter(targets.values()))
            if found:
                return sorted(found.values())
        return None

    def _foreign(self, foreign: Foreign, token: Token) -> None:
        if foreign.never:
            self.fail(ParseError.at(token, foreign.why))
            return
        if not self.lenient:
            hint = "leaves such a line out" if foreign.line else "drops it"
            self.fail(ParseError.at(token, f"{foreign.why} (--lenient {hint})"))
            return
        self.dropped.append([token])
        self._drop_left = foreign.values
        if foreign.line and self.skip is None:
            self.skip = foreign.why

    def _group_option(self, gopt: Opt, token: Token) -> None:
        group, inst = self.group
        if gopt.dest in inst:
            self.fail(ParseError.at(token, f"'{token.text}' given twice in one {group.keyword}"))
            return
        if gopt.kind is None:
            inst[gopt.dest] = gopt.const
        else:
            self.pending = (gopt, token)

    def _open_group(self, group: Group, token: Token) -> None:
        inst: dict = {}
        self.values.setdefault(group.dest, []).append(inst)
        idx = len(self.values[group.dest]) - 1
        self.where[(group.dest, idx)] = token
        self.group = (group, inst)

    def _keyword(self, opt: Opt, token: Token) -> None:
        if opt.dest in self.values and not opt.repeat:
            first = self.where.get("kw:" + opt.dest) or self.where.get(opt.dest)
            if opt.excl is not None and first is not None and first.text != token.text:
                self.fail(ParseError.at(token, f"'{token.text}' and '{first.text}' exclude each other"))
            else:
                self.fail(ParseError.at(token, f"'{token.text}' given twice"))
            return
        if opt.kind is None:
            self._store_opt(opt, token, opt.const, token)
        else:
            self.pending = (opt, token)

    def _store_opt(self, opt: Opt, kw: Token, value: Any, vtok: Token) -> None:
        if self.group is not None and any(opt is o for o in self.group[0].options):
            group, inst = self.group
            inst[opt.dest] = value
            idx = len(self.values[group.dest]) - 1
            self.where[(group.dest, idx, opt.dest)] = vtok
            return
        if opt.repeat:
            self.values.setdefault(opt.dest, []).append(value)
        else:
            self.values[opt.dest] = value
        self.where.setdefault(opt.dest, kw if opt.kind is None else vtok)
        self.where.setdefault("kw:" + opt.dest, kw)
        for dest, val in opt.also:
            self.values[dest] = val

    def _open_positionals(self):
        positionals = self.syntax.positionals
        for i, pos in enumerate(positionals):
            if pos.dest in self.values and not pos.many:
                continue
            if pos.leading and any(p.dest in self.values for p in positionals[i + 1:]):
                continue
            yield pos

    def _positional(self, token: Token) -> None:
        word = token.text
        skipped: list[str] = []
        for pos in self._open_positionals():
            if pos.kind == "choice":
                if word in pos.choices:
                    self.values[pos.dest] = word
                    self.where[pos.dest] = token
                    return
                if not pos.required:
                    skipped.extend(pos.choices)
                    continue
                self.fail(ParseError.at(token, f"expected {' or '.join(pos.choices)}, not '{word}'"
                                        + closest(word, pos.choices)))
                return
            value = self._value(pos.kind, token, "")
            if pos.many:
                self.values.setdefault(pos.dest, []).append(value)
                self.where.setdefault(pos.dest, token)
            else:
                self.values[pos.dest] = value
                self.where[pos.dest] = token
            return
        if self.syntax.rest is not None and self.syntax.rest.dest not in self.values:
            self.rest_tokens = [token]
            self.values[self.syntax.rest.dest] = self.rest_tokens
            self.where[self.syntax.rest.dest] = token
            return
        words = self.expect().words()
        hint = closest(word, words)
        if not hint and skipped and not self.syntax.options:
            hint = f" (expected {' or '.join(skipped)})"
        self.fail(ParseError.at(token, f"unexpected '{word}'{hint}"))

    def finish(self, end: int) -> dict[str, Any]:
        """Check that the line may end here; returns the values."""
        if self.skip is not None:
            return self.values  # dropped whole: nothing of it is checked or run
        if self._drop_left:
            word = self.dropped[-1][0]
            self.fail(ParseError.at(word, f"'{word.text}' needs a value"))
        if self.pending is not None:
            opt, kw = self.pending
            what = KIND_TEXT.get(opt.kind) or _article(opt.meta or opt.kind.upper())
            self.fail(ParseError(f"'{kw.text}' needs {what}",
                                 kw.start, kw.end, kw.text))
        for pos in self.syntax.positionals:
            if pos.required and pos.dest not in self.values:
                what = "|".join(pos.choices) if pos.kind == "choice" else (pos.meta or pos.dest.upper())
                self.fail(ParseError(f"missing {what}", end, end + 1, ""))
                break
        rest = self.syntax.rest
        if rest is not None and rest.required and rest.dest not in self.values:
            self.fail(ParseError(f"missing {rest.meta or rest.dest.upper()}", end, end + 1, ""))
        return self.values

    def role(self, word: str) -> str:
        """What ``word`` would be if fed now: 'keyword' or 'value' (for the lexer)."""
        if self.pending is not None or self.rest_tokens is not None:
            return "value"
        if word in ("?", "-j") or word in self._groups or word in self._keywords:
            return "keyword"
        if self.group is not None and any(word in o.words() for o in self.group[0].options):
            return "keyword"
        return "keyword" if isinstance(self._abbreviated(word), (Opt, Group)) else "value"

    # -- what may come next -------------------------------------------------

    def expect(self) -> Expect:
        exp = Expect(values_so_far=self.values)
        if self.rest_tokens is not None:
            exp.rest = self.syntax.rest
            exp.rest_tokens = self.rest_tokens
            return exp
        if self.pending is not None:
            opt, _ = self.pending
            exp.values.append((opt.kind, opt.meta or opt.kind.upper(), opt.help))
            exp.end_ok = False
            return exp
        shadowed: set[str] = set()
        if self.group is not None:
            group, inst = self.group
            for o in group.options:
                shadowed.update(o.words())
                if o.dest not in inst:
                    exp.keywords.append((o.keyword, o.help))
        for g in self.syntax.groups:
            exp.keywords.append((g.keyword, g.help))
        used_excl = {o.excl for o in self.syntax.options if o.excl and o.dest in self.values}
        for o in self.syntax.options:
            if o.keyword in shadowed:
                continue
            if (o.dest in self.values and not o.repeat) or (o.excl and o.excl in used_excl):
                continue
            exp.keywords.append((o.keyword, o.help))
        for pos in self._open_positionals():
            if pos.kind == "choice":
                exp.choices.extend((c, pos.help) for c in pos.choices)
                if pos.required:
                    exp.end_ok = False
                    break
                continue
            exp.values.append((pos.kind, pos.meta or pos.dest.upper(), pos.help))
            if pos.required and pos.dest not in self.values:
                exp.end_ok = False
            break
        else:
            rest = self.syntax.rest
            if rest is not None and rest.dest not in self.values:
                exp.rest = rest
                if rest.required:
                    exp.end_ok = False
        return exp


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
