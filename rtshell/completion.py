"""What may come next: completion from the grammar and from live values.

Two layers, after pgcli's habit:

* :class:`CompletionEngine` knows "what can go here" from the command
  registry and the grammar walk (the same walk the parser runs), and fills
  values from a :class:`LiveValues` snapshot: prefixes in the kernel table,
  gateways in use, devices of the system, tables, types, protocols.  It
  takes a plain string and returns :class:`Suggestion`s: no prompt_toolkit.
* :class:`ShellCompleter` adapts it to prompt_toolkit's Completer.

Live values are indexed on the notification thread (cheap dict updates) and
published as an immutable :class:`Snapshot` swapped in under a lock; the
completer only ever reads a snapshot.
"""

from __future__ import annotations

import collections
import os
import threading
from dataclasses import dataclass
from typing import Iterable, Optional

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from rtshell import names
from rtshell.commands import pipe as pipes
from rtshell.commands.grammar import ParseError, Token, Walk, tokenize_lenient
from rtshell.commands.kinds import DESCRIPTIONS
from rtshell.commands.registry import REGISTRY, Registry

MAX_SUGGESTIONS = 400
LIVE_MAX = 200_000  # routes indexed for completion; beyond, prefixes are not all offered


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: int  # where the replaced word starts, relative to the cursor (<= 0)
    meta: str = ""
    display: Optional[str] = None


@dataclass(frozen=True)
class Snapshot:
    """Live values at one moment; never changed once published."""

    prefixes: tuple[tuple[str, str], ...] = ()  # (prefix text, meta), sorted
    gateways: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # table ids in use, as names
    devices: tuple[str, ...] = ()
    complete: bool = True  # False when the table had more than LIVE_MAX routes


def _prefix_word(route) -> str:
    return str(route.dst) if route.dst.prefixlen else "default"


class LiveValues:
    """An index of the kernel table for completion, kept by notifications.

    ``apply(event)`` is called on the notification thread; ``publish()``
    (from the refresher) rebuilds the snapshot when something changed.
    """

    def __init__(self, devices: Optional[names.Devices] = None):
        self.devices = devices
        self._lock = threading.Lock()
        self._routes: dict = {}  # key -> (prefix word, gateways, meta)
        self._overflow = False
        self._dirty = True
        self.stale = False  # a filtered flush: reload from the kernel
        self._snapshot = Snapshot(devices=tuple(devices.names()) if devices else ())
        self.version = 0

    # -- writers (notification thread, refresher) ---------------------------

    def _entry(self, route):
        gws = tuple(str(h.gateway) for h in route.all_nexthops() if h.gateway is not None)
        meta = names.table_name(route.table)
        if route.type.label != "unicast":
            meta = f"{route.type.label} {meta}"
        elif gws:
            meta = f"via {gws[0]} {meta}"
        return (_prefix_word(route), gws, meta)

    def _put(self, route) -> None:
        if route.key not in self._routes and len(self._routes) >= LIVE_MAX:
            self._overflow = True
            return
        self._routes[route.key] = self._entry(route)

    def load(self, routes: Iterable) -> None:
        """Replace the index with these routes (a full dump), swapped in at once."""
        fresh: dict = {}
        overflow = False
        for r in routes:
            if len(fresh) >= LIVE_MAX:
                overflow = True
                break
            fresh[r.key] = self._entry(r)
        with self._lock:
            self._routes = fresh
            self._overflow = overflow
            self.stale = False
            self._dirty = True

    def apply(self, event) -> None:
        with self._lock:
            kind = event.kind
            if kind == "new" and event.route is not None:
                self._put(event.route)
            elif kind == "del" and event.route is not None:
                self._routes.pop(event.route.key, None)
            elif kind == "flush":
                if event.filter is None:
                    self._routes.clear()
                else:
                    self.stale = True  # the refresher reloads: a filter may name any route
            elif kind == "resync":
                if getattr(event, "initial", False):
                    self._routes = {}
                    self._overflow = False
                for r in getattr(event, "removed", ()):
                    self._routes.pop(r.key, None)
                for r in getattr(event, "added", ()) + getattr(event, "changed", ()):
                    self._put(r)
            else:
                return
            self._dirty = True

    def publish(self, force: bool = False) -> bool:
        """Rebuild the snapshot if anything changed; True when it did."""
        with self._lock:
            if not (self._dirty or force):
                return False
            entries = list(self._routes.items())
            overflow = self._overflow
            self._dirty = False
        prefixes: dict[str, tuple] = {}
        gateways: collections.Counter = collections.Counter()
        tables: set[int] = set()
        for (table, family, dst, _metric), (word, gws, meta) in entries:
            if word not in prefixes:
                prefixes[word] = ((family, int(dst.network_address), dst.prefixlen), meta)
            gateways.update(gws)
            tables.add(table)
        ordered = sorted(prefixes.items(), key=lambda kv: kv[1][0])
        snap = Snapshot(
            prefixes=tuple((word, meta) for word, (_, meta) in ordered),
            gateways=tuple(g for g, _ in gateways.most_common()),
            tables=tuple(names.table_name(t) for t in sorted(tables)),
            devices=tuple(self.devices.names()) if self.devices else (),
            complete=not overflow,
        )
        with self._lock:
            self._snapshot = snap
            self.version += 1
        return True

    def refresh_devices(self) -> None:
        if self.devices is not None:
            self.devices.refresh()
            with self._lock:
                self._dirty = True

    # -- readers ---------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def __len__(self) -> int:
        with self._lock:
            return len(self._routes)


class CompletionEngine:
    """complete(text before the cursor) -> suggestions.  No prompt_toolkit."""

    def __init__(self, live: LiveValues, registry: Registry = REGISTRY):
        self.live = live
        self.registry = registry

    def complete(self, text: str) -> list[Suggestion]:
        bar = pipes.split(text)
        if bar is not None:  # after '|': the stage's name, then a free REGEX
            tail = text[bar + 1:]
            if tail.strip() and (tail[-1].isspace() or len(tail.split()) > 1):
                return []
            word = tail.strip()
            return [Suggestion(s, -len(word), h) for s, h in pipes.STAGES.items() if s.startswith(word)]
        tokens = tokenize_lenient(text)
        tail = text[tokens[-1].end:] if tokens else text
        if tail.lstrip().startswith("#"):
            return []  # in a comment
        if tokens and tokens[-1].end == len(text):
            partial: Optional[Token] = tokens[-1]
            done = tokens[:-1]
        else:
            partial, done = None, tokens
        word = partial.text if partial else ""
        start = -(len(text) - partial.start) if partial else 0
        out = [Suggestion(s.text, start, s.meta, s.display) for s in self._candidates(done, word)
               if s.text.startswith(word)]
        return out[:MAX_SUGGESTIONS]

    # -- what may come next ------------------------------------------------------

    def _command_node(self, done: list[Token]):
        """(words, node, i): the words without the line modifier -j (JSON
        output), the registry node their command words reach, and how many
        of the words those are."""
        done = [t for t in done if t.text != "-j"]
        reach = self.registry.reach([t.text for t in done])
        return done, reach.node, reach.used

    def _candidates(self, done: list[Token], word: str) -> list[Suggestion]:
        done, node, i = self._command_node(done)
        if node.spec is None:
            if i < len(done):
                return []  # an unknown command word: nothing sensible follows
            return [Suggestion(w, 0, n.help) for w, n in node.children.items() if not n.hidden]
        walk = Walk(node.spec.syntax, None, strict=False)
        for tok in done[i:]:
            try:
                walk.feed(tok)
            except ParseError:
                pass
            except Exception:  # '?' typed mid-line: nothing to add
                return []
        exp = walk.expect()
        if exp.rest is not None:
            return self._rest(exp, word)
        out = [Suggestion(w, 0, h) for w, h in exp.choices]
        for kind, meta, help in exp.values:
            out += self.values(kind, word)
        out += [Suggestion(w, 0, h) for w, h in exp.keywords]
        return out

    def help_rows(self, text: str) -> list[tuple[str, str]]:
        """What may come after ``text`` (the '?' key): (word or VALUE, help)."""
        bar = pipes.split(text)
        if bar is not None:
            words = text[bar + 1:].split()
            if len(words) > (0 if not text or text[-1].isspace() else 1):
                stage = pipes.stage_of(words[0])
                return [("REGEX", pipes.STAGES[stage])] if stage else []
            return list(pipes.STAGES.items())
        tokens = tokenize_lenient(text)
        if tokens and tokens[-1].end == len(text):
            tokens = tokens[:-1]  # '?' right after a word: what may replace it
        exp = self.expect(tokens)
        if exp is None:
            return []
        if isinstance(exp, list):
            return exp
        rows = exp.rows()
        node = self._command_node(tokens)[1]
        if exp.end_ok and node.spec is not None and node.spec.pipes:
            rows.append(pipes.HELP_ROW)
        return rows

    def expect(self, done: list[Token]):
        """The grammar's Expect after these words; a list of (word, help)
        when the words stop at a command group; None after an unknown word."""
        done, node, i = self._command_node(done)
        if node.spec is None:
            if i < len(done):
                return None
            return [(w, n.help) for w, n in node.children.items() if not n.hidden]
        walk = Walk(node.spec.syntax, None, strict=False)
        for tok in done[i:]:
            try:
                walk.feed(tok)
            except Exception:
                return None
        exp = walk.expect()
        if exp.rest is not None and exp.rest_tokens and exp.rest.kind == "command":
            return self.expect(list(exp.rest_tokens))
        return exp

    def _rest(self, exp, word: str) -> list[Suggestion]:
        rest_tokens = exp.rest_tokens
        if exp.rest.kind == "command":
            return self._candidates(list(rest_tokens), word)
        # help: command words only
        reach = self.registry.reach([t.text for t in rest_tokens])
        if reach.used < len(rest_tokens):
            return []
        node = reach.node
        return [Suggestion(w, 0, n.help) for w, n in node.children.items() if not n.hidden]

    def values(self, kind: str, word: str) -> list[Suggestion]:
        snap = self.live.snapshot
        if kind == "live_prefix":
            out = [Suggestion("default", 0, "0.0.0.0/0 or ::/0")]
            if word and word != "default"[:len(word)]:
                out = []
            out += [Suggestion(p, 0, m) for p, m in snap.prefixes if p.startswith(word)]
            return out
        if kind == "prefix":
            return [Suggestion("default", 0, "0.0.0.0/0 (::/0 with -6 or an IPv6 gateway)")]
        if kind == "gateway":
            return [Suggestion(g, 0, "gateway in use") for g in snap.gateways]
        if kind == "dev":
            devices = snap.devices or (tuple(self.live.devices.names()) if self.live.devices else ())
            return [Suggestion(d, 0, "device") for d in devices]
        if kind in ("table", "table_filter"):
            words = list(dict.fromkeys(["main", "local", "default"] + list(snap.tables)
                                       + [t for t in names.table_names() if t not in ("main", "local", "default")]))
            out = [Suggestion(t, 0, "table in use" if t in snap.tables else "table") for t in words]
            if kind == "table_filter":
                out.insert(0, Suggestion("all", 0, "every table"))
            return out
        if kind == "type":
            return [Suggestion(t, 0, "route type") for t in names.type_names()]
        if kind == "proto":
            return [Suggestion(p, 0, f"protocol {names.parse_proto(p)}") for p in names.proto_names()]
        if kind == "file":
            return self._files(word)
        return []

    @staticmethod
    def _files(word: str) -> list[Suggestion]:
        path = os.path.expanduser(word)
        directory, base = os.path.split(path)
        shown_dir = word[: len(word) - len(base)]
        try:
            entries = sorted(os.listdir(directory or "."))
        except OSError:
            return []
        out = []
        for name in entries:
            if not name.startswith(base) or (name.startswith(".") and not base.startswith(".")):
                continue
            full = os.path.join(directory or ".", name)
            suffix = "/" if os.path.isdir(full) else ""
            out.append(Suggestion(shown_dir + name + suffix, 0, "directory" if suffix else "file"))
        return out

    def describe(self, kind: str) -> str:
        return DESCRIPTIONS.get(kind, kind)


class ShellCompleter(Completer):
    """prompt_toolkit's view of the engine."""

    def __init__(self, engine: CompletionEngine):
        self.engine = engine

    def get_completions(self, document: Document, complete_event: CompleteEvent):
        for s in self.engine.complete(document.text_before_cursor):
            yield Completion(s.text, start_position=s.start, display=s.display, display_meta=s.meta)
