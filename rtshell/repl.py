"""The interactive shell, assembled in one place.

Pieces, each in its own module: completion (rtshell.completion), key
bindings (rtshell.keys), toolbar (rtshell.toolbar), lexer (rtshell.lexer),
validation (rtshell.validate), rendering (rtshell.render).  Here they are
wired together by injection, with:

* :class:`AbovePrompt`: prints background output above the prompt without
  disturbing the line being typed (rich renders to an ANSI string; the
  string is written inside ``run_in_terminal`` on the application's loop,
  reached through ``session.app`` handed over explicitly);
* :class:`LiveFeed`: one background thread that opens the client,
  subscribes to notifications (with resync, so an overrun is repaired and
  shown with what changed during the gap), prints them, keeps the
  completion index and the toolbar counters current, and invalidates the
  application when something changed;
* :class:`Repl`: the loop.  Ctrl-C cancels the line or the running command,
  Ctrl-D leaves, an unexpected exception prints one line and the prompt
  returns.
"""

from __future__ import annotations

import _thread
import collections
import contextlib
import contextvars
import faulthandler
import functools
import logging
import os
import signal
import sys
import threading
import time
from typing import Optional

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import DynamicCompleter, ThreadedCompleter
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.output import create_output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.styles import Style

from rtshell import render
from rtshell.model import ResyncEvent
from rtshell.commands import Executor, ExitShell
from rtshell.commands.executor import error_parts, format_error, one_line
from rtshell.completion import CompletionEngine, LiveValues, ShellCompleter
from rtshell.feed import Digest
from rtshell.keys import build_key_bindings
from rtshell.pager import Pager
from rtshell.lexer import ShellLexer
from rtshell.terminal import Terminal
from rtshell.toolbar import Toolbar, ToolbarState
from rtshell.validate import check

STYLE = Style.from_dict({
    "prompt": "bold ansigreen",
    "prompt.txn": "bold ansiyellow",
    "command": "bold",
    "keyword": "ansicyan",
    "value": "",
    "error": "ansired underline",
    "comment": "ansibrightblack italic",
    "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
    "toolbar.hint": "#a0a0a0",
    "toolbar.incomplete": "#d0d070",
    "toolbar.error": "bold #ff6060",
    "toolbar.status": "#70c0ff",
})

STATS_EVERY = 2.0  # seconds between counter refreshes
DEVICES_EVERY = 5.0
RETRY_EVERY = 5.0  # seconds between attempts to open the client
PUBLISH_EVERY = 0.5  # seconds between two rebuilds of the completion index, at least
PUBLISH_SHARE = 20  # ... and at least this many times what the last one took
PROMPT_RETRIES = 3  # prompts in a row that fail to draw before the shell gives up


# -- history -------------------------------------------------------------------


def history_path(env=None) -> str:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "rtshell", "history")


class SafeFileHistory(FileHistory):
    """A FileHistory that keeps working in memory when the file cannot be written."""

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError:
            pass

    def load_history_strings(self):
        try:
            yield from super().load_history_strings()
        except OSError:
            return


def make_history(path: Optional[str] = None) -> History:
    """File history, or in-memory history (silently) when it cannot be kept."""
    path = path or history_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError:
        return InMemoryHistory()
    return SafeFileHistory(path)


# -- background output ---------------------------------------------------------------


class AbovePrompt:
    """Prints ANSI text above the prompt, from any thread.

    While the prompt runs, text goes through prompt_toolkit's
    run_in_terminal (the prompt is erased, the text printed, the prompt
    drawn again); otherwise it is written straight to the terminal.  The
    REPL says when a prompt starts and ends (:meth:`prompting`); text that
    comes while a prompt is starting but not yet running is held and
    written before its first draw, so no line ever lands on a drawn prompt
    behind prompt_toolkit's back.
    """

    def __init__(self, app, output: render.Output):
        self.app = app  # session.app, handed over explicitly
        self.output = output
        self._lock = threading.Lock()
        self._prompting = False
        self._held: list[str] = []
        # the main thread's context: run_in_terminal finds the running app
        # through the app session there (a callback scheduled from another
        # thread would run in that thread's context, see no app, and write
        # on top of the drawn prompt)
        self._context: Optional[contextvars.Context] = None

    @contextlib.contextmanager
    def prompting(self):
        """Around one session.prompt(); yields its pre_run callback."""
        with self._lock:
            self._prompting = True
            self._context = contextvars.copy_context()
        try:
            yield self._write_held  # pre_run: the app runs, nothing is drawn yet
        finally:
            self._write_held(prompting=False)

    def _write_held(self, prompting: bool = True) -> None:
        with self._lock:
            self._prompting = prompting
            held, self._held = self._held, []
        for text in held:
            self.output.above(text)

    def print_ansi(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        with self._lock:
            if self._prompting:
                app = self.app
                loop = getattr(app, "loop", None)
                if app.is_running and loop is not None:
                    out = app.output

                    def write() -> None:
                        out.write_raw(text)
                        out.flush()

                    try:
                        loop.call_soon_threadsafe(functools.partial(run_in_terminal, write),
                                                  context=self._context.copy())
                        return
                    except RuntimeError:  # the loop closed meanwhile
                        pass
                self._held.append(text)  # the prompt starts or ends: written when it is clear
                return
        self.output.above(text)

    def print_renderable(self, renderable) -> None:
        color = self.output.terminal
        self.print_ansi(render.to_ansi(renderable, render.terminal_width(), color=color))

    def print_text(self, text: str) -> None:
        from rich.text import Text

        self.print_renderable(Text(text))


class LogToPrinter(logging.Handler):
    """Warnings of rtshell's own loggers (the client's receiver thread says
    when a resync failed), above the prompt instead of across it."""

    def __init__(self, printer: AbovePrompt):
        super().__init__(logging.WARNING)
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.printer.print_text(f"{record.levelname.lower()}: {record.getMessage()}")
        except Exception:
            self.handleError(record)


# -- the live feed ----------------------------------------------------------------------


class LiveFeed:
    """The background thread behind the live view, completion and toolbar."""

    def __init__(self, ex: Executor, live: LiveValues, state: ToolbarState, printer: AbovePrompt, app):
        self.ex = ex
        self.live = live
        self.state = state
        self.printer = printer
        self.app = app
        self._queue: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sub = None
        self._thread = threading.Thread(target=self._run, name="rtshell-live", daemon=True)
        self._lock = threading.Lock()  # the digest: the feed thread and the commands
        self.digest = Digest(self._event_line, lambda pid: render.origin_text(pid, self.ex.own_ports()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2.0)
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                sub.close()
            except Exception:
                pass

    # notification thread: cheap work only
    def on_event(self, ev) -> None:
        self.live.apply(ev)
        if isinstance(ev, ResyncEvent) and ev.initial:
            self._wake.set()
            return
        self.state.rate.tick()
        if not (self.ex.foreground_events.is_set() or self._counted_by_a_bar(ev)):
            self._queue.append(ev)
        self._wake.set()

    def _counted_by_a_bar(self, ev) -> bool:
        """A change this shell made by long work under a bar (a batch, a
        restore): the bar and its summary line count it, so the feed does not
        print it again, group by group above the bar, nor after the summary
        when its notification comes late."""
        if ev.pid not in self.ex.own_ports():
            return False
        return getattr(self.ex.output, "work", None) is not None or self.ex.made_under_a_bar(ev.seq)

    def _run(self) -> None:
        next_stats = next_devices = next_try = next_publish = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if self._sub is None:
                if now >= next_try:
                    next_try = now + RETRY_EVERY
                    self._connect()
                    self._invalidate()
            else:
                try:
                    self._drain(now)
                except Exception as exc:  # a line that cannot be drawn must not stop the feed
                    self.state.set_connection(f"! feed: {one_line(exc)}")
                try:
                    if self.live.stale:
                        dump = self.ex.client.dump()
                        try:
                            self.live.load(dump)
                        finally:
                            dump.close()
                    if now >= next_stats:
                        next_stats = now + STATS_EVERY
                        st = self.ex.client.stats(tables=False)
                        self.state.set_counts(st.routes4, st.routes6, st.max_routes)
                except Exception as exc:
                    self.state.set_connection(f"! {one_line(exc)}")
                else:
                    if self.state.connection and self.state.connection.startswith("!"):
                        self.state.set_connection(None)
            if now >= next_devices:
                next_devices = now + DEVICES_EVERY
                self.live.refresh_devices()
            if now >= next_publish:
                took = time.monotonic()
                if self.live.publish():
                    self._invalidate()
                # a rebuild of the completion index costs O(routes) and holds
                # the GIL: keep it to a small share of the time, so a batch
                # (or typing) on a big table is not slowed by it
                took = time.monotonic() - took
                next_publish = time.monotonic() + max(PUBLISH_EVERY, took * PUBLISH_SHARE)
            self._wake.wait(0.5)
            self._wake.clear()
            time.sleep(0.05)  # gather a burst into one drain

    def _connect(self) -> None:
        try:
            client = self.ex.client
            self._sub = client.subscribe(self.on_event, None, resync=True)
            st = client.stats(tables=False)
            self.state.set_counts(st.routes4, st.routes6, st.max_routes)
            self.state.set_connection(None)
        except Exception as exc:
            parts = error_parts(exc)
            self.state.set_connection(f"not connected: {parts['errno']}")

    def _event_line(self, ev):
        if ev.kind == "resync":  # one line, stamped like a summary: route show has the routes
            return render.resync_summary(ev)
        return render.event_line(ev, self.ex.devices, render.origin_text(ev.pid, self.ex.own_ports()))

    def _drain(self, now: float) -> None:
        events = []
        while self._queue:
            events.append(self._queue.popleft())
        with self._lock:
            lines = self.digest.add(events, now) if events else self.digest.tick(now)
        self._print(lines)

    def _print(self, lines: list) -> None:
        """Notification lines (renderables) and summaries (strings, stamped)."""
        if not lines:
            return
        from rich.console import Group
        from rich.text import Text

        stamp = time.strftime("[%H:%M:%S] ")
        self.printer.print_renderable(Group(*(
            Text.assemble((stamp, "dim"), (line, "bold")) if isinstance(line, str) else line for line in lines)))

    def monitor(self, on: Optional[bool]) -> str:
        """`terminal monitor` / `terminal no monitor`: the feed on or off; what it says."""
        now = time.monotonic()
        with self._lock:
            if on is None:
                return f"monitor is {'off' if self.digest.muted else 'on'}"
            lines = self.digest.unmute(now) if on else self.digest.mute(now)
        self._print(lines)
        return "monitor on" if on else "monitor off: route changes are counted, not shown"

    def _invalidate(self) -> None:
        app = self.app
        if app.is_running:
            try:
                app.invalidate()
            except RuntimeError:
                pass


# -- the shell --------------------------------------------------------------------------


def _keys_fd(input) -> Optional[int]:
    """The terminal the user types on (for the built-in pager's keys)."""
    fileno = getattr(input, "fileno", None) if input is not None else sys.stdin.fileno
    try:
        fd = fileno() if fileno is not None else None
    except (OSError, ValueError):
        return None
    return fd if fd is not None and os.isatty(fd) else None


def _pending(ex: Executor):
    client = ex._client
    return None if client is None else client.pending


class Repl:
    def __init__(self, ex: Executor, *, history: Optional[History] = None, input=None, output=None,
                 live_feed: bool = True, terminal: Optional[Terminal] = None):
        self.ex = ex
        self.terminal = terminal
        if output is None and terminal is not None:
            output = create_output(terminal.out)  # prompt_toolkit writes through it too
        self._busy = False  # a command runs (in the main thread)
        self.live = LiveValues(ex.devices)
        self.engine = CompletionEngine(self.live)
        self.state = ToolbarState()
        self.state.pending = lambda: _pending(ex)
        self.state.txn = lambda: len(ex.txn) if ex.txn is not None else None
        self.state.tracing = lambda: ex.tracing
        self.toolbar = Toolbar(self.state, lambda text: check(text, ex.ctx))
        self._completer = ShellCompleter(self.engine)
        self.session: PromptSession = PromptSession(
            history=history if history is not None else make_history(),
            auto_suggest=AutoSuggestFromHistory(),
            completer=ThreadedCompleter(DynamicCompleter(lambda: self._completer)),
            complete_while_typing=False,
            lexer=ShellLexer(ex.ctx.convert),
            bottom_toolbar=self.toolbar,
            key_bindings=build_key_bindings(self.engine.help_rows, self._show_rows),
            style=STYLE,
            refresh_interval=1.0,
            input=input,
            output=output,
        )
        self._ask: PromptSession = PromptSession(input=input, output=output)  # yes/no questions
        ex.confirm = self._confirm
        self.printer = AbovePrompt(self.session.app, ex.output)
        ex.background = self.printer.print_text
        self.feed = LiveFeed(ex, self.live, self.state, self.printer, self.session.app) if live_feed else None
        ex.feed = self.feed
        if terminal is not None:
            terminal.on_gone(self._hang_up)
            ex.pager = Pager(terminal.out, keys_fd=_keys_fd(input))

    def _confirm(self, question: str) -> bool:
        """y/N on the terminal; Enter, Ctrl-C and Ctrl-D say no."""
        try:
            answer = self._ask.prompt(f"{question} [y/N] ")
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    # -- the terminal goes --

    def _gone(self) -> bool:
        return self.terminal is not None and self.terminal.gone

    def _hang_up(self) -> None:
        """The terminal is gone (from any thread): leave the prompt, or stop
        the running command at its next clean point as Ctrl-C would."""
        app = self.session.app
        loop = getattr(app, "loop", None)
        if app.is_running and loop is not None:
            def leave() -> None:
                if app.is_running and not app.future.done():
                    app.exit(exception=EOFError)

            try:
                loop.call_soon_threadsafe(leave)
            except RuntimeError:  # the loop closed meanwhile
                pass
        elif self._busy:
            _thread.interrupt_main()

    def _say(self, message: str) -> None:
        """One error line, whatever breaks while saying it."""
        try:
            self.ex.output.error(message)
        except Exception:
            try:
                self.ex.output.err.write(f"error: {one_line(message)}\n")
            except Exception:
                pass

    def _show_rows(self, title: str, rows: list[tuple[str, str]]) -> None:
        """Print '?' help; runs inside run_in_terminal."""
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for a, b in rows:
            table.add_row(a, b)
        color = self.ex.output.terminal
        text = render.to_ansi(Text(title, style="bold"), render.terminal_width(), color) + \
            render.to_ansi(table, render.terminal_width(), color)
        out = self.session.app.output
        out.write_raw(text)
        out.flush()

    def message(self):
        if self.ex.txn is not None:
            return [("class:prompt.txn", f"rtshell(txn {len(self.ex.txn)})> ")]
        return [("class:prompt", "rtshell> ")]

    def run(self) -> int:
        """The loop; returns the exit status (0, or 1 if the last command failed).

        Nothing leaves it but the status: an exception in a command or in
        drawing the prompt is one error line and the prompt comes back; a
        terminal that is gone ends it quietly (the history is written line
        by line as commands are entered).
        """
        status = 0
        logger = logging.getLogger("rtshell")
        handler = LogToPrinter(self.printer)
        logger.addHandler(handler)
        propagate, logger.propagate = logger.propagate, False
        hup = self._catch_hangup()
        stacks = _stacks_on_sigusr1()
        if self.feed is not None:
            self.feed.start()
        try:
            # print() and the log go above the prompt through the same output
            with create_app_session(output=self.session.app.output), patch_stdout(raw=True):
                status = self._loop()
        finally:
            if self.ex.txn:
                self._say(f"left with {len(self.ex.txn)} staged changes not committed (dropped)")
            if self.feed is not None:
                self.feed.stop()
            logger.removeHandler(handler)
            logger.propagate = propagate
            if hup is not None:
                signal.signal(signal.SIGHUP, hup)
            if stacks:
                faulthandler.unregister(signal.SIGUSR1)
        return status

    def _loop(self) -> int:
        status = 0
        broken = 0  # prompts in a row that failed to draw
        while not self._gone():
            try:
                with self.printer.prompting() as pre_run:
                    line = self.session.prompt(self.message, pre_run=pre_run)
                broken = 0
            except KeyboardInterrupt:
                continue  # Ctrl-C: a fresh line
            except EOFError:
                break  # Ctrl-D
            except Exception as exc:
                broken += 1
                self._say(f"the prompt failed: {type(exc).__name__}: {one_line(exc)}")
                if broken >= PROMPT_RETRIES:
                    self._say("the prompt keeps failing; leaving the shell")
                    return 1
                continue
            self._busy = True
            try:
                status = 0 if self.ex.run_line(line) else 1
            except ExitShell:
                break
            except KeyboardInterrupt:
                self._say("interrupted")
                status = 1
            except Exception as exc:  # never die
                self._say(format_error(line.strip(), error_parts(exc)))
                status = 1
            finally:
                self._busy = False
        return status

    def _catch_hangup(self):
        """SIGHUP (the terminal closed) ends the shell as a failed write does;
        returns the handler to put back, or None."""
        if self.terminal is None or threading.current_thread() is not threading.main_thread():
            return None
        return signal.signal(signal.SIGHUP, lambda signum, frame: self.terminal.hang_up())


def _stacks_on_sigusr1() -> bool:
    """``kill -USR1`` on a shell that seems stuck writes every thread's stack
    to the terminal (stderr), for a bug report; True if it was set up."""
    if threading.current_thread() is not threading.main_thread() or sys.__stderr__ is None:
        return False
    try:
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    except (AttributeError, OSError, ValueError, RuntimeError):  # no stderr, or no fileno
        return False
    return True
