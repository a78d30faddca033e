"""Running parsed commands against a client, for the shell, -c and batches.

The executor owns what outlives one command: the client (opened on first
use, so ``help`` and ``explain`` work without the module), the open
transaction, tracing.  Every failure becomes one line: what was asked, the
errno name, the kernel's own text, and advice where there is some.
"""

from __future__ import annotations

import contextlib
import errno as E
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from rtshell import errors, names
from rtshell.commands.grammar import Expect, HelpRequest, ParseError
from rtshell.commands.kinds import Converter
from rtshell.commands.lenient import LeftOut
from rtshell.commands.registry import Parsed, parse
from rtshell.commands.request import ROUTE_METHODS, Request
from rtshell.terminal import ReaderGone

BATCH_CHUNK = 1024  # requests per client.batch(): the client packs them into few sendmsg calls


class CommandError(Exception):
    """A failure of the shell itself (no such file, no open transaction)."""


class Reported(CommandError):
    """A failure already told in its own lines: the command fails quietly."""


class ExitShell(Exception):
    """`exit`, or Ctrl-D."""


ADVICE = {
    E.EEXIST: "use replace or append",
    E.EPERM: "needs CAP_NET_ADMIN (run as root)",
    E.EACCES: "needs CAP_NET_ADMIN (run as root)",
    E.ENODEV: "no such device in this network namespace",
    E.ENOSPC: "the namespace holds max_routes routes (see stats)",
    E.E2BIG: "at most 32 next hops",
    E.ENETUNREACH: "no route matches",
    E.ETIMEDOUT: "the kernel did not answer in time",
    E.EPROTONOSUPPORT: errors.load_advice(),
}

METHOD_ADVICE = {
    ("change", E.ENOENT): "use add or replace",
    ("append", E.ENOENT): "use add, or append without a missing route",
    ("get", E.ENOENT): "no route has exactly this prefix; route get ADDR (no /LEN) finds the route an address takes",
    ("delete", E.ESRCH): "no route with that key matches (check table, via, dev, metric)",
}


def errno_name(num: Optional[int]) -> str:
    if num is None:
        return "ERROR"
    return E.errorcode.get(num, f"errno {num}")


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def error_parts(exc: BaseException, method: str = "") -> dict[str, Any]:
    num = getattr(exc, "errno", None)
    kernel = getattr(exc, "ext_ack", None)  # the kernel's words
    detail = getattr(exc, "detail", None)  # the client's own (a timeout, a closed client)
    if num is None and isinstance(exc, TimeoutError):
        num = E.ETIMEDOUT
    strerror = os.strerror(num) if num else one_line(exc)
    advice = METHOD_ADVICE.get((method, num)) or getattr(exc, "advice", None) or ADVICE.get(num)
    return {"errno": errno_name(num) if num else type(exc).__name__, "code": num,
            "strerror": strerror, "kernel": one_line(kernel) if kernel else None,
            "detail": one_line(detail) if detail else None, "advice": advice}


def format_error(asked: str, parts: dict[str, Any]) -> str:
    """'route add 10.0.0.0/8 dev dummy0: EEXIST (File exists): kernel: <text>; use replace or append'"""
    line = f"{asked}: {parts['errno']} ({parts['strerror']})"
    if parts.get("kernel"):
        line += f": kernel: {parts['kernel']}"
    if parts.get("detail"):
        line += f": {parts['detail']}"
    if parts.get("advice"):
        line += f"; {parts['advice']}"
    return line


@dataclass
class Staged:
    request: Request
    line: str


def default_client_factory(timeout: float = 5.0):
    from rtshell.client import Client

    return Client(timeout=timeout)


class Context:
    """What parsing needs from the outside world: device names, and the
    settings of the command line that apply to every line."""

    def __init__(self, devices: names.Devices):
        self.devices = devices
        self.convert = Converter(devices)
        self.lenient = False  # drop FIB-only words (--lenient, `lenient on`)
        self.family: Optional[int] = None  # rtshell -4 / -6: for every command that has -4/-6


class Executor:
    def __init__(self, output, devices: Optional[names.Devices] = None, client=None,
                 client_factory: Optional[Callable[[], Any]] = None,
                 background: Optional[Callable[[str], None]] = None):
        self.output = output
        self.devices = devices if devices is not None else names.Devices()
        self.ctx = Context(self.devices)
        self._client = client
        self._factory = client_factory or default_client_factory
        self._client_lock = threading.Lock()
        self.txn: Optional[list[Staged]] = None
        self.tracing = False
        self.verbose = False  # a batch on a terminal prints every success too
        self.batch_depth = 0
        # prints a line of background output (trace) without tearing the
        # foreground: the REPL prints above the prompt, -c/-b to stderr
        self.background = background or self._background_default
        self.last_batch = None
        self.batch_stopped: Optional[str] = None  # where Ctrl-C stopped the last batch
        self.foreground_events = threading.Event()  # monitor/watch own the screen
        self.feed = None  # the interactive shell's live feed (repl.LiveFeed), if any
        # asks a yes/no question on the terminal (the REPL sets it); None: never ask
        self.confirm: Optional[Callable[[str], bool]] = None
        self.left_out = LeftOut()  # what lenient parses of a batch dropped
        self.pager = None  # the interactive shell's rtshell.pager.Pager, if any
        # the client's last sequence number when long work (a bar) ended: this
        # shell's changes up to it were counted by the work's summary
        self.bar_seq: Optional[int] = None

    @contextlib.contextmanager
    def work(self, description: str, total: Optional[int]):
        """Long work (batch, restore, save) under a progress bar on a terminal
        (rtshell.progress.Work).  When it ends, ``bar_seq`` marks the changes
        it made: their notifications may still be on their way, and the feed
        leaves them to the work's summary line."""
        from rtshell.progress import Work

        with Work(self.output, description, total) as work:
            try:
                yield work
            finally:
                # before the bar goes (output.work = None): a notification
                # the feed reads in between is still counted by one of them
                if self._client is not None:
                    self.bar_seq = self._client.last_seq

    def made_under_a_bar(self, seq: int) -> bool:
        """Whether this shell's change of sequence number ``seq`` was made by
        long work that has ended (see :meth:`work`)."""
        from rtshell.client import SEQ_MODULO

        return self.bar_seq is not None and (self.bar_seq - seq) % SEQ_MODULO < SEQ_MODULO // 2

    @contextlib.contextmanager
    def lenient_if(self, on: bool):
        """Lenient parsing for a while (batch FILE --lenient), as it was after."""
        saved = self.ctx.lenient
        self.ctx.lenient = saved or on
        try:
            yield
        finally:
            self.ctx.lenient = saved

    # -- the client -------------------------------------------------------

    @property
    def client(self):
        """The client, opened on first use (from any thread)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    @property
    def has_client(self) -> bool:
        return self._client is not None

    def own_ports(self) -> set[int]:
        ports = {os.getpid()}
        c = self._client
        if c is not None:
            for attr in ("port_ids", "ports"):
                val = getattr(c, attr, None)
                if val:
                    ports.update(int(x) for x in val)
            for attr in ("port_id", "portid", "pid"):
                val = getattr(c, attr, None)
                if isinstance(val, int):
                    ports.add(val)
        return ports

    def close(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            c.close()

    def _background_default(self, text: str) -> None:
        with self.output.lock:
            self.output.err.write(text.rstrip("\n") + "\n")
            self.output.err.flush()

    # -- running lines ----------------------------------------------------

    def parse(self, line: str) -> Optional[Parsed]:
        return parse(line, self.ctx)

    def run_line(self, line: str, where: str = "") -> bool:
        """Parse and run one line; True when it succeeded (or was blank)."""
        try:
            parsed = self.parse(line)
        except HelpRequest as req:
            self.show_expect(req.expect, line)
            return True
        except ParseError as exc:
            self.parse_error(exc, line, where)
            return False
        if parsed is None:
            return True
        said = LeftOut.one(parsed)
        if said is not None:
            self.output.warn(f"{where}{said}")
            if parsed.skip is not None:
                return True
        return self.run(parsed, where)

    def parse_error(self, exc: ParseError, line: str, where: str = "") -> None:
        word = f" (at '{exc.word}')" if exc.word and f"'{exc.word}'" not in exc.message else ""
        self.output.error(f"{where}{exc.message}{word}",
                          {"kind": "syntax", "command": line.strip(), "column": exc.start + 1},
                          pointer=exc.pointer(line, 2))

    def run(self, parsed: Parsed, where: str = "") -> bool:
        """Run one parsed line: paged on a terminal when it prints much, as
        JSON with -j, through its pipe ('| include RE')."""
        saved = self.output
        paged = self.pager is not None and self.pager.on and parsed.spec.paged and self.batch_depth == 0
        try:
            with self.pager.around(self) if paged else contextlib.nullcontext() as screen:
                if parsed.json and not self.output.json:
                    self.output = self.output.as_json()
                if parsed.pipe is not None:
                    self.output = self.output.piped(parsed.pipe)
                try:
                    ok = self._run(parsed, where)
                finally:
                    self.output.end_pipe()
                if ok and screen is not None and screen.ended == "ctrl-c":
                    # a Ctrl-C Python could not raise (it came in a __del__):
                    # the pager is gone and the output was dropped all the same
                    self._interrupted(parsed, where)
                    ok = False
                return ok
        finally:
            self.output = saved

    def _interrupted(self, parsed: Parsed, where: str) -> None:
        asked = " ".join(t.text for t in parsed.tokens)
        self.output.interrupted()
        self.output.error(f"{where}{asked}: interrupted", {"command": asked, "errno": "EINTR"})

    def _run(self, parsed: Parsed, where: str) -> bool:
        asked = " ".join(t.text for t in parsed.tokens)
        try:
            parsed.spec.handler(self, parsed)
            return True
        except ExitShell:
            raise
        except ReaderGone:  # q in the pager: the reader has seen enough (and reads no more)
            return True
        except KeyboardInterrupt:
            self._interrupted(parsed, where)
            return False
        except ParseError as exc:  # a command inside a command (explain, batch)
            self.parse_error(exc, parsed.line, where)
            return False
        except Reported:
            return False
        except CommandError as exc:
            self.output.error(f"{where}{asked}: {exc}", {"command": asked})
            return False
        except OSError as exc:
            method = parsed.request[0].method if parsed.request else ""
            self.report(exc, asked, method, where)
            return False
        except Exception as exc:  # the shell never dies; say what broke in one line
            self.output.error(f"{where}{asked}: internal error: {type(exc).__name__}: {one_line(exc)}",
                              {"command": asked, "errno": type(exc).__name__})
            return False

    def report(self, exc: BaseException, asked: str, method: str = "", where: str = "") -> None:
        parts = error_parts(exc, method)
        if isinstance(exc, OSError) and getattr(exc, "filename", None) and not getattr(exc, "ext_ack", None):
            parts["strerror"] = f"{parts['strerror']}: {exc.filename}"
        self.output.error(where + format_error(asked, parts), {"command": asked, **parts})

    def call(self, req: Request) -> Any:
        return req.call(self.client)

    # -- changes: now, or staged ----------------------------------------------

    def change(self, parsed: Parsed) -> None:
        """Run (or stage, inside begin ... commit) a mutating command."""
        reqs = parsed.request
        if self.txn is not None:
            for r in reqs:
                self.txn.append(Staged(r, r.text))
            self.output.ack(f"staged ({len(self.txn)} pending): {reqs[0].text}",
                            {"command": reqs[0].text, "staged": len(self.txn)})
            return
        for req in reqs:
            self.ack(req, self.call(req))

    def ack(self, req: Request, result: Any) -> None:
        if req.method == "flush":
            n = int(result or 0)
            self.output.ack(f"{req.text}: {n:,} route{'s' if n != 1 else ''} deleted",
                            {"command": req.text, "deleted": n})
        elif not self.quiet_acks():
            self.output.ack(req.text, {"command": req.text}, quiet=True)

    # -- batches ------------------------------------------------------------

    def send_batch(self, reqs: list[Request], atomic: bool) -> list[Any]:
        """Send requests through client.batch(); per request None (applied)
        or the exception.  The batch object stays in ``last_batch`` (an
        atomic batch lists there what it undid)."""
        return self.send_changes([(r.method, r.args[0]) for r in reqs], atomic)

    def send_changes(self, changes: list[tuple[str, Any]], atomic: bool) -> list[Any]:
        """The same for ``(method, route or filter)`` pairs (a Route, or a
        batch file's line the C library read: netlink.PackedRoute)."""
        batch = self.client.batch(atomic=atomic, raise_on_error=False)
        self.last_batch = batch
        with batch:
            for method, obj in changes:
                getattr(batch, method)(obj)
        results = list(batch.results)
        if len(results) < len(changes):
            results += [CommandError("no answer")] * (len(changes) - len(results))
        return results

    def run_batch(self, lines: Iterable[str], source: str = "-", force: bool = False) -> bool:
        """Run lines like ``ip -batch``: stop at the first failure unless force,
        which reports every failing line and runs all the others.

        Consecutive route changes go to the kernel together through
        client.batch().  Without force a group is sent atomically; if line k
        fails, nothing of the group was applied, so the lines before k are
        sent again and the batch stops at k: exactly the lines before the
        failure are applied, as if they had been sent one by one.

        On a terminal a progress bar runs and one summary line ends the
        batch; success lines of single routes are left out unless verbose.
        Ctrl-C stops between two groups and says where.
        """
        from rtshell.progress import interrupt_point

        lines = lines if isinstance(lines, list) else list(lines)
        self.batch_stopped = None
        self.batch_depth += 1
        try:
            with interrupt_point() as stop, self.work(f"batch {source}", len(lines)) as work:
                run = _BatchRun(self, source, force, work, stop, lines)
                ok = run.lines()
        finally:
            self.batch_depth -= 1
        self.batch_stopped = run.stopped_at
        for said in self.left_out.summary():
            self.output.warn(f"{source}: {said}")
        if run.stopped_at:
            self.output.error(f"{source}: {work.summary(run.stopped_at)}", {"file": source, "errno": "EINTR"})
        elif self.output.terminal and len(lines) > 1:
            self.output.ack(f"{source}: {work.summary()}")
        return ok and not run.stopped_at

    def quiet_acks(self) -> bool:
        """A batch on a terminal: single-route success lines are left out."""
        return self.batch_depth > 0 and not self.verbose and self.output.terminal

    def route_lines(self):
        """The C reader of a batch file's plain route changes
        (routes.route_lines), when a success of one prints nothing and
        nothing is staged; else None: every line goes through the grammar."""
        from rtshell.commands.routes import route_lines

        silent = self.quiet_acks() or self.output.quiet_acks_silent
        if not silent or self.txn is not None:
            return None
        return route_lines(self.devices)

    # -- '?' --------------------------------------------------------------------

    def expect_rows(self, exp: Expect) -> list[tuple[str, str]]:
        return exp.rows()

    def show_expect(self, exp: Expect, line: str) -> None:
        before = line.split("?", 1)[0].strip()
        self.output.help(self.expect_rows(exp), title=f"{before or '(start)'} ?")

    # -- transactions -------------------------------------------------------------

    def diff_changes(self) -> list[dict[str, Any]]:
        """The staged changes against the live table (read with get)."""
        state: dict[tuple, Any] = {}  # Route.key -> the route it holds after the changes so far

        def live(route, metric):
            try:
                return self.client.get(route.dst, route.table, metric=metric)
            except OSError as exc:
                if exc.errno not in (E.ENOENT, E.ESRCH):
                    raise
                return None

        def current(route, lowest: bool = False):
            """The key a change meets and its route: the change's own key, or,
            for a delete without a metric, the prefix's lowest-metric route."""
            if lowest:
                found = {k: r for k, r in state.items() if k[:3] == route.key[:3]}
                first = live(route, None)
                if first is not None:
                    found.setdefault(first.key, first)  # what was staged comes first
                present = sorted((k for k, r in found.items() if r is not None), key=lambda k: k[3])
                if not present:
                    return route.key, None
                state.setdefault(present[0], found[present[0]])
                return present[0], state[present[0]]
            if route.key not in state:
                state[route.key] = live(route, route.metric)
            return route.key, state[route.key]

        changes = []
        for s in self.txn or []:
            m = s.request.method
            if m == "flush":
                flt = s.request.args[0]
                gone = [r for r in self.client.dump(flt)]
                for r in gone:
                    state.setdefault(r.key, r)
                for key, r in list(state.items()):
                    if r is not None and (flt is None or flt.matches(r)):
                        changes.append({"op": m, "line": s.line, "before": r, "after": None, "note": None})
                        state[key] = None
                continue
            route = s.request.args[0]
            key, before = current(route, lowest=m == "delete" and not route.metric)
            after, note = before, None
            if m == "add":
                if before is not None:
                    note = "would fail: EEXIST (the route exists)"
                else:
                    after = route
            elif m == "replace":
                after = route
            elif m == "change":
                if before is None:
                    note = "would fail: ENOENT (no such route)"
                else:
                    after = route
            elif m == "append":
                after = _appended(before, route) if before is not None else route
                if after is None:
                    after, note = before, "would fail: EEXIST (the next hop is there)"
            elif m == "delete":
                if before is None or not _delete_matches(before, route):
                    note = "would fail: ESRCH (no such route)"
                else:
                    after = None
            state[key] = after
            changes.append({"op": m, "line": s.line, "before": before, "after": after, "note": note})
        return changes


def _appended(before, route):
    from rtshell.model import NextHop, Route

    hops = list(before.all_nexthops())
    for h in route.all_nexthops():
        if any(x.gateway == h.gateway and x.oif == h.oif for x in hops):
            return None
        hops.append(NextHop(h.gateway, h.oif, h.weight))
    if len(hops) == 1:
        return before
    return Route(dst=before.dst, table=before.table, type=before.type, proto=before.proto,
                 metric=before.metric, nexthops=tuple(hops))


def _delete_matches(route, key) -> bool:
    hops = route.all_nexthops()
    if key.gateway is not None and not any(h.gateway == key.gateway for h in hops):
        return False
    if key.oif is not None and not any(h.oif == key.oif for h in hops):
        return False
    if key.metric and route.metric != key.metric:
        return False
    if key.type and route.type != key.type:
        return False
    if key.proto and route.proto != key.proto:
        return False
    return True



class _Change:
    """A route change of a batch file waiting in a group: what the client's
    batch is asked (``method``, ``obj``), the line it came from, and its
    Request when the grammar read it (None: the C reader did)."""

    __slots__ = ("lineno", "method", "obj", "req")

    def __init__(self, lineno: int, method: str, obj: Any, req: Optional[Request]) -> None:
        self.lineno, self.method, self.obj, self.req = lineno, method, obj, req


class _BatchRun:
    """One batch file's lines through an executor: the group of route
    changes waiting to be sent, and where Ctrl-C stopped it.

    Lines of the common shape (``route add PREFIX via GW dev IF ...``) are
    read in C in chunks (Executor.route_lines); any other line, and every
    line when an ack would print something, goes through the grammar."""

    def __init__(self, ex: Executor, source: str, force: bool, work, stop, lines: list[str]):
        self.ex = ex
        self.source = source
        self.force = force
        self.work = work
        self.stop = stop
        self.text = lines
        self.group: list[_Change] = []
        self.stopped_at: Optional[str] = None  # 'FILE:LINE' of the first line not run
        self.ok = True

    def where(self, lineno: int) -> str:
        return f"{self.source}:{lineno}: "

    def _failed(self) -> bool:
        """A line failed; True when the batch goes on."""
        self.ok = False
        return self.force

    def _send(self) -> bool:
        """Send the waiting group; True when the batch goes on."""
        if not self.group:
            return True
        n = len(self.group)
        try:
            sent = self._send_group()
        finally:
            self.work.advance(n)
        return sent or self._failed()

    def _report(self, change: _Change, exc: BaseException) -> None:
        if change.req is not None:
            text, method = change.req.text, change.req.method
        else:
            text, method = " ".join(self.text[change.lineno - 1].split()), change.method
        self.ex.report(exc, text, method, self.where(change.lineno))
        self.work.fail()

    def _applied(self, changes: list[_Change]) -> None:
        ex, work = self.ex, self.work
        for c in changes:
            if c.req is not None:
                ex.ack(c.req, None)
            work.count(c.method)

    def _send_group(self) -> bool:
        """The waiting route changes through client.batch(); False when one failed.
        With force every one is tried; without, the group is atomic and the
        lines before the first failure are sent again (see run_batch)."""
        ex = self.ex
        items, self.group = self.group, []
        calls = [(c.method, c.obj) for c in items]
        if self.force:
            results = ex.send_changes(calls, atomic=False)
            ok = True
            for c, res in zip(items, results):
                if isinstance(res, BaseException):
                    self._report(c, res)
                    ok = False
                else:
                    self._applied([c])
            return ok
        results = ex.send_changes(calls, atomic=True)
        bad = next((i for i, r in enumerate(results) if isinstance(r, BaseException)), None)
        if bad is None:
            self._applied(items)
            return True
        if bad:
            again = ex.send_changes(calls[:bad], atomic=True)
            for c, res in zip(items[:bad], again):
                if isinstance(res, BaseException):
                    self._report(c, res)
                    return False
                self._applied([c])
        self._report(items[bad], results[bad])
        return False

    def _stopped(self, lineno: int) -> bool:
        """Ctrl-C: the group is not sent; the lines before it are all that ran."""
        first = self.group[0].lineno if self.group else lineno
        self.group.clear()
        self.stopped_at = self.where(first).rstrip(": ")
        return False

    def lines(self) -> bool:
        lines, work = self.text, self.work
        reader = self.ex.route_lines()
        data = "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode(
            "utf-8", "replace") if reader is not None else b""
        pos = 0  # in data: where line i starts
        i = 0  # the next line to run, from 0
        while i < len(lines):
            if self.stop:
                return self._stopped(i + 1)
            if reader is not None and self.ex.txn is None:  # 'begin' stages what follows
                read, pos, next_no = reader.read(data, pos, i + 1)
                work.advance(next_no - 1 - i - len(read))  # blank and comment lines
                self.group.extend(_Change(r.number, r.verb, r, None) for r in read)
                i = next_no - 1
                if len(self.group) >= BATCH_CHUNK and not self._send():
                    return False
                if len(read) == reader.CHUNK or i == len(lines):
                    continue
            try:
                if not self._line(i + 1, lines[i]):
                    return False
            except ExitShell:
                return self.ok
            i += 1
            if reader is not None:
                pos = data.index(b"\n", pos) + 1
        if not self._send():
            return False
        return self.ok

    def _line(self, lineno: int, line: str) -> bool:
        """One line through the grammar; False when the batch stops."""
        ex, work = self.ex, self.work
        where = self.where(lineno)
        try:
            parsed = ex.parse(line.rstrip("\n"))
        except HelpRequest as req:
            ex.show_expect(req.expect, line)
            work.advance()
            return True
        except ParseError as exc:
            # the lines before it first, so the errors come in line order
            if not self._send():
                return False
            ex.parse_error(exc, line, where)
            work.fail()
            work.advance()
            return self._failed()
        if parsed is None:
            work.advance()
            return True
        if parsed.dropped:
            ex.left_out.note(parsed)
            if parsed.skip is not None:
                work.advance()
                return True
        if (ex.txn is None and parsed.spec.mutating and len(parsed.request) == 1
                and parsed.request[0].method in ROUTE_METHODS):
            req = parsed.request[0]
            self.group.append(_Change(lineno, req.method, req.args[0], req))
            return len(self.group) < BATCH_CHUNK or self._send()
        if not self._send():
            return False
        try:
            done = ex.run(parsed, where)
        finally:
            work.advance()  # 'exit' too: ExitShell ends the batch (lines()), not the shell
        if done:
            work.count(parsed.spec.name)  # 'route flush', 'stats', ...: other commands
            return True
        work.fail()
        return self._failed()
