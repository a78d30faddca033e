"""What may come next: completion from the grammar and from live values.

Two layers, after pgcli's habit:

* :class:`CompletionEngine` knows "what can go here" from the command
  registry and the grammar walk (the same walk the parser runs), and fills
  values from the :class:`LiveValues` index: prefixes in the kernel table,
  gateways in use, devices of the system, tables, types, protocols.  It
  takes a plain string and returns :class:`Suggestion`s: no prompt_toolkit.
* :class:`ShellCompleter` adapts it to prompt_toolkit's Completer.

Live values are indexed on the notification thread, in place and in
O(log N) a route (:class:`LiveValues`); the completer reads the prefixes
that start with the word typed as one range of that index, under its lock,
and the few other values (gateways, tables, devices) from an immutable
:class:`Snapshot` published now and then.
"""

from __future__ import annotations

import collections
import ipaddress
import os
import threading
from dataclasses import dataclass
from typing import Iterable, Optional

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from rtshell import names
from rtshell.model import Filter, ResyncEvent
from rtshell.commands import pipe as pipes
from rtshell.commands.grammar import ParseError, Token, Walk, tokenize_lenient
from rtshell.commands.kinds import DESCRIPTIONS
from rtshell.commands.registry import REGISTRY, Registry
from rtshell.sortedkeys import SortedKeys

MAX_SUGGESTIONS = 400


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: int  # where the replaced word starts, relative to the cursor (<= 0)
    meta: str = ""
    display: Optional[str] = None


@dataclass(frozen=True)
class Snapshot:
    """The small live values at one moment; never changed once published."""

    gateways: tuple[str, ...] = ()  # most used first
    tables: tuple[str, ...] = ()  # table ids in use, as names
    devices: tuple[str, ...] = ()


def _numeric(word: str):
    """The kernel's order of prefix words: default, then by family, address, length."""
    if word == "default":
        return (0, 0, 0)
    net = ipaddress.ip_network(word, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


class _Index:
    """The routes' words and the values they use, counted: what TAB reads."""

    def __init__(self, ordered: bool = True):
        """ordered=False: the words are sorted once, by ``seal``, after a bulk fill."""
        self.routes: dict = {}  # (prefix text, table, metric) -> (prefix word, gateways, meta)
        self.words: dict[str, list] = {}  # prefix word -> [routes with it, meta]
        self.sorted: Optional[SortedKeys] = SortedKeys() if ordered else None  # the words, in text order
        self.gateways: collections.Counter = collections.Counter()
        self.tables: collections.Counter = collections.Counter()

    def put(self, key, entry) -> None:
        old = self.routes.get(key)
        if old is not None:
            self.drop(key, old)
        self.routes[key] = entry
        word, gws, meta = entry
        slot = self.words.get(word)
        if slot is None:
            self.words[word] = [1, meta]
            if self.sorted is not None:
                self.sorted.add(word)
        else:
            slot[0] += 1
        for g in gws:
            self.gateways[g] += 1
        self.tables[key[1]] += 1

    def drop(self, key, entry) -> None:
        word, gws, _meta = entry
        slot = self.words[word]
        slot[0] -= 1
        if not slot[0]:
            del self.words[word]
            if self.sorted is not None:
                self.sorted.discard(word)
        for g in gws:
            self.gateways[g] -= 1
        self.tables[key[1]] -= 1

    def seal(self) -> "_Index":
        self.sorted = SortedKeys(self.words)
        return self


class LiveValues:
    """An index of the kernel table for completion, kept by notifications.

    ``apply(event)`` runs on the notification thread and changes the index
    in place, in O(log N) a route; a whole table (``load(routes)`` on the
    refresher, the resync that opens a subscription) is indexed apart in one
    pass and swapped in.  So a table of a million routes is indexed whole
    (no cap) and TAB never waits for a rebuild.  The prefix words lie in a :class:`SortedKeys` in
    text order: the words that start with what was typed are one range of
    it, found by bisection and read up to the number shown.  Gateways and
    tables in use are counted as routes come and go; ``publish()`` turns
    those counts (a few hundred values) into a :class:`Snapshot`.
    """

    def __init__(self, devices: Optional[names.Devices] = None):
        self.devices = devices
        self._lock = threading.Lock()
        self._index = _Index()
        self._metas: dict[tuple, str] = {}  # (table, type, first gateway) -> its meta text, made once
        self._gateways_seen: dict[tuple, str] = {}  # (version, address) -> text, made once
        self._gateway_sets: dict = {}  # one copy of each route's gateway tuple (a text: its 1-tuple)
        self._dirty = True
        self.stale = False  # a filtered flush: reload from the kernel
        self._snapshot = Snapshot(devices=tuple(devices.names()) if devices else ())
        self.version = 0

    # -- writers (notification thread, refresher) ------------------------------
    # self._index changes only under the lock; _fill builds a new one apart,
    # which is put in its place under the lock.

    @staticmethod
    def _key(route) -> tuple[str, int, int]:
        """The route's own key (prefix, table, metric), with the prefix as
        text, whose hash is cheap."""
        return (str(route.dst), route.table, route.metric)

    def _entry(self, route):
        """(key, (prefix word, gateways, meta))."""
        key = self._key(route)
        word = key[0] if route.dst.prefixlen else "default"
        if route.nexthops:
            gws = tuple(self._gateway_text(h.gateway) for h in route.nexthops if h.gateway is not None)
            gws = self._gateway_sets.setdefault(gws, gws)
        elif route.gateway is not None:
            gws = self._gateway_sets[self._gateway_text(route.gateway)]
        else:
            gws = ()
        label = route.type.label
        why = (route.table, label, gws[0] if gws and label == "unicast" else None)
        meta = self._metas.get(why)
        if meta is None:
            meta = names.table_name(route.table)
            if label != "unicast":
                meta = f"{label} {meta}"
            elif gws:
                meta = f"via {gws[0]} {meta}"
            self._metas[why] = meta
        return key, (word, gws, meta)

    def _gateway_text(self, gateway) -> str:
        key = (gateway.version, int(gateway))
        text = self._gateways_seen.get(key)
        if text is None:  # the 1-tuple first: another writer's thread may read both
            text = str(gateway)
            self._gateway_sets.setdefault(text, (text,))
            self._gateways_seen[key] = text
        return text

    def _remove(self, route) -> None:
        key = self._key(route)
        entry = self._index.routes.pop(key, None)
        if entry is not None:
            self._index.drop(key, entry)

    def _fill(self, routes: Iterable) -> _Index:
        """A whole index for these routes, built apart from this one's, with
        the words sorted once at the end: much cheaper a route than adding
        them one by one."""
        index = _Index(ordered=False)
        for r in routes:
            index.put(*self._entry(r))
        return index.seal()

    def load(self, routes: Iterable) -> None:
        """Replace the index with these routes (a full dump).  The new index
        is built aside and swapped in at once."""
        index = self._fill(routes)
        with self._lock:
            self._index = index
            self.stale = False
            self._dirty = True

    def apply(self, event) -> None:
        if isinstance(event, ResyncEvent) and event.initial:
            # the whole table: built aside, in one pass (a million routes at
            # the feed's start), then swapped in
            index = self._fill(event.added + event.changed)
            with self._lock:
                self._index = index
                self._dirty = True
            return
        change = event.effect()  # the one reading of an event (rtshell.model)
        if not change.removed and not change.put and change.flushed is None:
            return
        with self._lock:
            for r in change.removed:
                self._remove(r)
            if change.flushed == Filter():
                self._index = _Index()
            elif change.flushed is not None:
                self.stale = True  # the refresher reloads: a filter may name any route
            for r in change.put:
                self._index.put(*self._entry(r))
            self._dirty = True

    def publish(self, force: bool = False) -> bool:
        """Rebuild the snapshot of gateways, tables and devices if anything
        changed; True when it did.  O(values in use), not O(routes)."""
        with self._lock:
            if not (self._dirty or force):
                return False
            gateways = [g for g, n in self._index.gateways.most_common() if n > 0]
            tables = sorted(t for t, n in self._index.tables.items() if n > 0)
            self._dirty = False
        snap = Snapshot(
            gateways=tuple(gateways),
            tables=tuple(names.table_name(t) for t in tables),
            devices=tuple(self.devices.names()) if self.devices else (),
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

    def prefixes(self, start: str = "", limit: int = MAX_SUGGESTIONS) -> list[tuple[str, str]]:
        """(prefix word, meta) of up to ``limit`` words in the table that
        start with ``start``, in the kernel's order.  O(log N + limit)."""
        with self._lock:
            ordered, words = self._index.sorted, self._index.words
            at = ordered.bisect_left(start)
            found = []
            while len(found) < limit:
                chunk = ordered.keys(at, at + min(64, limit - len(found)))
                if not chunk:
                    break
                at += len(chunk)
                fits = [w for w in chunk if w.startswith(start)]
                found += fits
                if len(fits) < len(chunk):
                    break
            found = [(w, words[w][1]) for w in found]
        found.sort(key=lambda wm: _numeric(wm[0]))
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._index.routes)


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
        if kind == "live_prefix":
            out = [Suggestion("default", 0, "0.0.0.0/0 or ::/0")]
            if word and word != "default"[:len(word)]:
                out = []
            return out + [Suggestion(p, 0, m) for p, m in self.live.prefixes(word) if p != "default"]
        snap = self.live.snapshot
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
