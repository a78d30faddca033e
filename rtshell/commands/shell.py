"""Commands beyond route: stats, monitor, watch, explain, trace, transactions,
save/restore/batch, help, exit."""

from __future__ import annotations

import errno
import os
import time
from typing import Optional

from rtshell.commands import pipe as pipes
from rtshell.commands.executor import BATCH_CHUNK, CommandError, ExitShell, Reported
from rtshell.commands.grammar import Opt, ParseError, Pos, Syntax, Token, closest
from rtshell.commands.registry import REGISTRY, Parsed, command, parse_tokens
from rtshell.commands.request import Request
from rtshell.commands.routes import FILTER_SYNTAX, build_filter

NO_ARGS = Syntax()



def _filter_or_none(p: Parsed):
    from rtshell.model import Filter

    flt = build_filter(p)
    return None if flt == Filter() else flt


# -- stats ----------------------------------------------------------------------


@command("stats", NO_ARGS, "route counts, memory and counters of the module",
         request=lambda p, ctx: (Request("stats", (), "stats"),), paged=True)
def _stats(ex, p: Parsed) -> None:
    ex.output.stats(ex.call(p.request[0]))


# -- monitor / watch ------------------------------------------------------------------


@command("monitor", FILTER_SYNTAX, "print route changes as they happen, until Ctrl-C", piped=True,
         examples=("monitor", "monitor table main -6", "monitor root 10.0.0.0/8"))
def _monitor(ex, p: Parsed) -> None:
    from rtshell.model import Event
    from rtshell.render import origin_text

    flt = _filter_or_none(p)
    # resync: after an overrun the client compares a fresh dump with its copy
    # of the table, and the monitor shows what changed during the gap
    it = ex.client.monitor(flt, resync=True)
    ex.foreground_events.set()
    try:
        if ex.output.terminal:
            ex.output.info("monitoring route changes; Ctrl-C to stop")
        while True:
            try:
                ev = next(it)
            except StopIteration:
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                ex.output.event(Event(kind="overrun", count=0))
                continue
            if ev.kind == "resync" and getattr(ev, "initial", False):
                continue
            ex.output.event(ev, origin_text(ev.pid, ex.own_ports()))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a monitor ends
    finally:
        ex.foreground_events.clear()
        close = getattr(it, "close", None)
        if close is not None:
            close()


@command("watch", FILTER_SYNTAX,
         "a live full-screen table of the routes: arrows, PgUp/PgDn, Home/End scroll, / filters, q leaves",
         examples=("watch", "watch table 100", "watch dev dummy0"))
def _watch(ex, p: Parsed) -> None:
    if not ex.output.terminal:
        raise CommandError("watch needs a terminal (use monitor, or route show)")
    from rtshell.commands.watch import run_watch

    ex.foreground_events.set()
    try:
        run_watch(ex, _filter_or_none(p))
    except KeyboardInterrupt:
        pass
    finally:
        ex.foreground_events.clear()


# -- explain / trace -------------------------------------------------------------------

EXPLAIN_SYNTAX = Syntax(rest=Pos("command", "command", "the command to explain", meta="COMMAND"))


@command("explain", EXPLAIN_SYNTAX, "show the exact request a command would send (sends nothing)", paged=True,
         examples=("explain route add 10.0.0.0/8 via 10.99.0.2",))
def _explain(ex, p: Parsed) -> None:
    rest: list[Token] = p.values["command"]
    inner = parse_tokens(rest, p.line, ex.ctx)
    text = inner.text
    if inner.spec.name == "monitor" or inner.spec.name == "watch":
        ex.output.explain(text + " (joins the notification group; no request is sent)", [])
        return
    parts = []
    for i, req in enumerate(inner.request or (), 1):
        decoded, data = req.decode(seq=i)
        parts.append((f"{req.method} request", decoded, data))
    ex.output.explain(text, parts)


def _on_off(help_text: str) -> Syntax:
    return Syntax(positionals=(Pos("state", "choice", help_text, required=False, choices=("on", "off")),))


TRACE_SYNTAX = _on_off("show every message, or stop")


@command("trace", TRACE_SYNTAX, "show every netlink message sent and received, decoded",
         examples=("trace on", "trace off"))
def _trace(ex, p: Parsed) -> None:
    state = p.values.get("state")
    if state is None:
        ex.output.info(f"trace is {'on' if ex.tracing else 'off'}", {"trace": ex.tracing})
        return
    on = state == "on"
    client = ex.client
    if on:
        from rtshell import netlink

        def tracer(direction: str, data: bytes) -> None:
            arrow = ">>" if direction == "send" else "<<"
            try:
                text = netlink.decode(data)
            except Exception as exc:  # a message the decoder cannot read is still shown
                text = f"({type(exc).__name__}: {exc}) {data.hex()}"
            ex.background(f"{arrow} {direction} {len(data)} bytes\n{text}")

        client.trace = tracer
    else:
        client.trace = None
    ex.tracing = on
    ex.output.info(f"trace {state}", {"trace": on})


@command("verbose", _on_off("print every success of a batch, or only its summary"),
         "a batch on a terminal prints one line per applied route too (off: a progress bar and a summary)",
         examples=("verbose on", "verbose off"))
def _verbose(ex, p: Parsed) -> None:
    state = p.values.get("state")
    if state is not None:
        ex.verbose = state == "on"
    ex.output.info(f"verbose is {'on' if ex.verbose else 'off'}", {"verbose": ex.verbose})


@command("lenient", _on_off("drop the FIB's own words (scope, src, ...) from route changes, with a warning"),
         "route changes pasted from ip: drop the words rtmgr routes do not have (off: refuse them)",
         aliases=("set lenient",), examples=("lenient on", "lenient off"))
def _lenient(ex, p: Parsed) -> None:
    state = p.values.get("state")
    if state is not None:
        ex.ctx.lenient = state == "on"
    ex.output.info(f"lenient is {'on' if ex.ctx.lenient else 'off'}", {"lenient": ex.ctx.lenient})


REGISTRY.group("terminal", "this terminal: the live feed of route changes above the prompt, the pager")


def _feed_switch(ex, on: bool) -> None:
    if ex.feed is None:
        raise CommandError("the live feed runs in the interactive shell only (use monitor here)")
    ex.output.info(ex.feed.monitor(on), {"monitor": on})


@command("terminal monitor", NO_ARGS, "print route changes above the prompt (bursts as one line)")
def _terminal_monitor(ex, p: Parsed) -> None:
    _feed_switch(ex, True)


@command("terminal no monitor", NO_ARGS, "stop printing route changes above the prompt (still counted)")
def _terminal_no_monitor(ex, p: Parsed) -> None:
    _feed_switch(ex, False)


def _pager_switch(ex, on: bool) -> None:
    pager = ex.pager
    if pager is None:
        raise CommandError("the pager runs in the interactive shell only")
    if on and pager.command is None:
        raise CommandError("no pager: RTSHELL_PAGER or PAGER says cat (unset it, or name one)")
    pager.on = on
    which = "the built-in pager" if pager.command == "builtin" else pager.command
    ex.output.info(f"output longer than the screen goes through {which}" if on
                   else "output is no longer paged", {"paginate": on})


@command("terminal paginate", NO_ARGS, "page output longer than the screen (route show, help, ...)",
         help="The pager is $RTSHELL_PAGER, else $PAGER, else less, else a built-in one.  "
              "q in the pager stops the command; Ctrl-C stops the command, and the pager shows what it got until q.")
def _terminal_paginate(ex, p: Parsed) -> None:
    _pager_switch(ex, True)


@command("terminal no paginate", NO_ARGS, "print long output straight to the terminal",
         aliases=("terminal length 0",))
def _terminal_no_paginate(ex, p: Parsed) -> None:
    _pager_switch(ex, False)


# -- transactions ------------------------------------------------------------------------


@command("begin", NO_ARGS, "stage the following route changes until commit or abort")
def _begin(ex, p: Parsed) -> None:
    if ex.txn is not None:
        raise CommandError(f"a transaction is already open ({len(ex.txn)} staged)")
    ex.txn = []
    ex.output.info("transaction open: route changes are staged; diff, commit or abort",
                   {"transaction": "open"})


def _need_txn(ex) -> list:
    if ex.txn is None:
        raise CommandError("no open transaction (begin first)")
    return ex.txn


@command("diff", NO_ARGS, "the staged changes against the live table", paged=True)
def _diff(ex, p: Parsed) -> None:
    _need_txn(ex)
    ex.output.diff(ex.diff_changes())


@command("commit", NO_ARGS, "apply the staged changes as one all-or-nothing batch")
def _commit(ex, p: Parsed) -> None:
    staged = _need_txn(ex)
    if not staged:
        ex.txn = None
        ex.output.info("nothing staged; transaction closed", {"applied": 0})
        return
    results = ex.send_batch([s.request for s in staged], atomic=True)
    failed = [(s, res) for s, res in zip(staged, results) if isinstance(res, BaseException)]
    if failed:
        for s, res in failed:
            ex.report(res, f"commit: {s.line}", s.request.method)
        undo_failures = getattr(ex.last_batch, "undo_failures", None) or []
        for text, err in undo_failures:
            ex.report(err, f"commit: undo {text}")
        if undo_failures:
            raise CommandError("commit failed and some changes could not be undone: the table "
                               "differs from before the commit (route show); the transaction stays open")
        raise CommandError(f"commit failed, nothing applied; the transaction stays open "
                           f"({len(staged)} staged: diff to review, abort to drop)")
    ex.txn = None
    ex.output.ack(f"committed {len(staged)} change{'s' if len(staged) != 1 else ''}",
                  {"applied": len(staged)})


@command("abort", NO_ARGS, "drop the staged changes")
def _abort(ex, p: Parsed) -> None:
    staged = _need_txn(ex)
    ex.txn = None
    ex.output.info(f"dropped {len(staged)} staged change{'s' if len(staged) != 1 else ''}",
                   {"dropped": len(staged)})


# -- save / restore / batch ------------------------------------------------------------------

FILE = Pos("file", "file", "a file", meta="FILE")
SAVE_SYNTAX = Syntax(positionals=(FILE,), options=FILTER_SYNTAX.options, foreign=FILTER_SYNTAX.foreign)


@command("save", SAVE_SYNTAX, "write the routes of every table (or those passing a filter) to FILE as commands",
         examples=("save /tmp/routes.rt", "save /tmp/t100.rt table 100"))
def _save(ex, p: Parsed) -> None:
    from rtshell.render import route_text

    path = os.path.expanduser(p.values["file"])
    flt = _filter_or_none(p)
    stats = None if flt is not None else ex.client.stats(tables=False)
    total = None if stats is None else stats.routes4 + stats.routes6  # for the bar
    it = ex.client.dump(flt)
    tmp = f"{path}.tmp{os.getpid()}"
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f, ex.work(f"save {path}", total) as work:
            f.write(f"# rtshell save {time.strftime('%Y-%m-%d %H:%M:%S')} {p.text}\n")
            for r in it:
                f.write("route add " + route_text(r, ex.devices) + "\n")
                n += 1
                if n % SAVE_STEP == 0:
                    work.advance(SAVE_STEP)
        os.replace(tmp, path)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    ex.output.ack(f"saved {n:,} route{'s' if n != 1 else ''} to {path} in {work.elapsed:.1f} s",
                  {"saved": n, "file": path})


SAVE_STEP = 256  # routes written between two updates of the bar


def _read_lines(path: str) -> list[str]:
    if path == "-":
        import sys

        return sys.stdin.read().splitlines()
    with open(os.path.expanduser(path), encoding="utf-8") as f:
        return f.read().splitlines()


LENIENT = Opt("--lenient", "lenient", None, "drop the words of the kernel's FIB that rtmgr routes do not have")

RESTORE_HELP = """\
FILE holds the lines `save` writes (route add ...), or what `ip route show`
prints: a line that starts with no command is a route (its continuation
lines, `nexthop ...`, belong to it).  With --lenient the FIB's own words
(scope, src, proto kernel's local routes...) are left out with a warning."""


def _logical_lines(lines: list[str]):
    """(line number, text): an indented `nexthop` line (ip route show's
    multipath form) joined to the route above it."""
    held: Optional[tuple[int, str]] = None
    for lineno, line in enumerate(lines, 1):
        if held is not None and line[:1].isspace() and line.split(None, 1)[:1] == ["nexthop"]:
            held = (held[0], f"{held[1]} {line.strip()}")
            continue
        if held is not None:
            yield held
        held = (lineno, line)
    if held is not None:
        yield held


def _as_command(line: str) -> str:
    """A line of `ip route show` is `route add` of it."""
    words = line.split(None, 1)
    if words and not words[0].startswith("#") and REGISTRY.reach(words[:1]).used == 0:
        return "route add " + line
    return line


@command("restore", Syntax(positionals=(FILE,), options=(LENIENT,)),
         "put back the routes of a saved FILE, or of ip route show (replacing same keys)",
         help=RESTORE_HELP, examples=("restore /tmp/routes.rt", "restore main.txt --lenient"))
def _restore(ex, p: Parsed) -> None:
    with ex.lenient_if("lenient" in p.values):
        _restore_file(ex, p.values["file"])


def _restore_file(ex, path: str) -> None:
    from rtshell.progress import interrupt_point

    lines = _read_lines(path)
    reqs: list[tuple[int, Request]] = []
    stopped_at = None
    # one clock and one bar for both parts: reading every line first (a bad
    # line changes nothing), then sending
    with interrupt_point() as stop, ex.work(f"reading {path}", len(lines)) as work:
        for lineno, line in _logical_lines(lines):
            if stop:
                raise CommandError(f"interrupted while reading {path}:{lineno}; nothing was changed")
            try:
                inner = ex.parse(_as_command(line))
            except ParseError as exc:
                raise CommandError(f"{path}:{lineno}: {exc.message}" + (f" (at '{exc.word}')" if exc.word else ""))
            if lineno % SAVE_STEP == 0:
                work.advance(SAVE_STEP)
            if inner is None:
                continue
            if inner.dropped:
                ex.left_out.note(inner)
                if inner.skip is not None:
                    continue
            req = inner.request[0] if inner.request else None
            if req is None or req.method not in ("add", "replace", "append"):
                raise CommandError(f"{path}:{lineno}: only route add/replace lines can be restored")
            if req.method == "add":
                req = Request("replace", req.args, req.text.replace("route add", "route replace", 1))
            reqs.append((lineno, req))
        work.phase(f"restore {path}", len(reqs))
        for start in range(0, len(reqs), BATCH_CHUNK):
            if stop:
                stopped_at = f"{path}:{reqs[start][0]}"
                break
            chunk = reqs[start:start + BATCH_CHUNK]
            for (lineno, req), res in zip(chunk, ex.send_batch([r for _, r in chunk], atomic=False)):
                if isinstance(res, BaseException):
                    ex.report(res, req.text, req.method, f"{path}:{lineno}: ")
                    work.fail()
                else:
                    work.count(req.method)
            work.advance(len(chunk))
    for warning in ex.left_out.summary():
        ex.output.warn(f"{path}: {warning}")
    done = sum(work.counts.values())
    said = f"restored {done:,} of {len(reqs):,} routes from {path} in {work.elapsed:.1f} s; {work.failed:,} failed"
    if stopped_at:
        raise CommandError(f"interrupted before {stopped_at}: {said}")
    if work.failed:
        raise CommandError(said)
    ex.output.ack(said, {"restored": done, "file": path})


BATCH_SYNTAX = Syntax(positionals=(FILE,),
                      options=(Opt("--force", "force", None, "go on after a failing line"), LENIENT))


@command("batch", BATCH_SYNTAX, "run the commands of FILE (stops at the first failure unless --force)",
         examples=("batch /tmp/changes.rt", "batch /tmp/changes.rt --force"))
def _batch(ex, p: Parsed) -> None:
    if ex.batch_depth >= 8:
        raise CommandError("batch files nest too deep")
    path = p.values["file"]
    lines = _read_lines(path)
    with ex.lenient_if("lenient" in p.values):
        ok = ex.run_batch(lines, source=path, force="force" in p.values)
    if not ok:
        if ex.batch_stopped:
            raise Reported("interrupted")  # its summary said where
        raise CommandError("the batch had failures (see above)")


# -- help / exit ---------------------------------------------------------------------------------

HELP_SYNTAX = Syntax(rest=Pos("command", "help", "a command", meta="COMMAND", required=False))


@command("help", HELP_SYNTAX, "help on the commands, or on one; '?' shows what may come next", paged=True,
         examples=("help", "help route", "help route add"))
def _help(ex, p: Parsed) -> None:
    words = [t for t in p.values.get("command", [])]
    reach = REGISTRY.reach([t.text for t in words])
    node = reach.node
    if reach.used < len(words):
        i = reach.used
        asked = " ".join(t.text for t in words[:i + 1])
        if reach.ambiguous:
            raise CommandError(f"'{asked}' is ambiguous: {', '.join(reach.ambiguous)}")
        choices = [w for w, n in node.children.items() if not n.hidden]
        raise CommandError(f"no command '{asked}'" + closest(words[i].text, choices))
    path = list(reach.path)
    if node.spec is not None and not node.children:
        spec = node.spec
        body = spec.summary
        if spec.help:
            body += "\n\n" + spec.help
        rows = []
        for pos in spec.syntax.positionals:
            rows.append((pos.usage(), pos.help))
        for opt in spec.syntax.options:
            rows.append((opt.usage(), opt.help + (f" (also: {', '.join(opt.aliases)})" if opt.aliases else "")))
        for grp in spec.syntax.groups:
            rows.append((grp.usage(), grp.help))
        if spec.syntax.rest is not None:
            rows.append((spec.syntax.rest.usage(), spec.syntax.rest.help))
        if spec.pipes:
            rows.append(("| STAGE [REGEX]", "filter the output: " + "; ".join(
                f"{stage}: {text}" for stage, text in pipes.STAGES.items())))
        for example in spec.examples:
            rows.append(("example", example))
        ex.output.help(rows, title="usage: " + spec.usage, body=body)
        return
    rows = []

    def walk(n, prefix):
        for w, child in n.children.items():
            if child.hidden:
                continue
            if child.spec is not None:
                rows.append((child.spec.usage if path else " ".join(prefix + [w]), child.help))
            if child.children:
                walk(child, prefix + [w])

    walk(node, path)
    title = "commands" if not path else f"{' '.join(path)} commands"
    body = "" if path else ("Tab completes; '?' anywhere shows what may come next; "
                             "help COMMAND for details. Ctrl-C cancels, Ctrl-D leaves. "
                             "After a command that prints, '| include RE', '| exclude RE', '| begin RE' "
                             "or '| count' filters what it prints; output longer than the screen "
                             "goes through a pager (q leaves it; terminal no paginate stops it).")
    ex.output.help(rows, title=title, body=body)


@command("exit", NO_ARGS, "leave the shell (Ctrl-D too)", aliases=("quit",))
def _exit(ex, p: Parsed) -> None:
    raise ExitShell()

