"""The `rtshell` command: the shell, -c COMMAND, -b FILE, -j.

Exit status: 0 when every command succeeded, 1 when any failed, 2 for a
wrong invocation (including a -c command that does not parse; in a batch a
line that does not parse is a failing line: 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from typing import Optional

from rtshell import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

SHELL_DEPS = ("prompt_toolkit", "rich")  # the `shell` extra: the library needs neither
SHELL_DEPS_MISSING = "rtshell: the shell needs prompt_toolkit and rich: pip install 'rtshell[shell]'"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtshell",
        description="Shell for the rtmgr in-kernel routing table. Without -c or -b: "
                    "an interactive shell on a terminal, or a batch read from stdin.",
        epilog="examples: rtshell -c 'route add 10.0.0.0/8 via 10.99.0.2'   "
               "rtshell -j -c 'route show'   rtshell -b routes.txt --force",
    )
    p.add_argument("-c", "--command", action="append", metavar="COMMAND",
                   help="run COMMAND and exit (may be repeated; they run in order)")
    p.add_argument("-b", "--batch", metavar="FILE",
                   help="run the commands of FILE ('-' for stdin), one per line, '#' comments")
    p.add_argument("-j", "--json", action="store_true", help="JSON output: one document per command")
    p.add_argument("--force", action="store_true",
                   help="in a batch, go on after a failing line (like ip -force)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for the kernel (default 5)")
    p.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="a batch on a terminal prints every applied route, not only a progress bar and a summary")
    p.add_argument("--version", action="version", version=f"rtshell {__version__}")
    return p


def output_mode(args, stdout) -> str:
    if args.json:
        return "json"
    if args.plain or not _isatty(stdout) or os.environ.get("TERM") == "dumb":
        return "plain"
    return "rich"


def _isatty(f) -> bool:
    try:
        return f.isatty()
    except (AttributeError, ValueError):
        return False


def run(argv: Optional[list[str]] = None, **kw) -> int:
    """The process entry (the ``rtshell`` command, ``python -m rtshell``).

    Output into a pipe whose reader has gone (``rtshell -c 'route show' |
    head -1``) ends the process as it ends ``ip``: by SIGPIPE, silently,
    with the status a shell expects (141), instead of a Python error.  A
    terminal keeps Python's default: the interactive shell never dies of a
    signal a write can raise.  Without the `shell` extra it says what to
    install, in one line.
    """
    if not all(_importable(name) for name in SHELL_DEPS):
        print(SHELL_DEPS_MISSING, file=kw.get("stderr") or sys.stderr)
        return EXIT_FAIL
    if not _isatty(kw.get("stdout") or sys.stdout):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return main(argv, **kw)


def _importable(name: str) -> bool:
    """Whether a top-level module is there to import, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # an import hook that refuses it
        return False


def main(argv: Optional[list[str]] = None, *, stdin=None, stdout=None, stderr=None,
         client_factory=None, devices=None) -> int:
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors are 2, --help/--version 0
        return int(exc.code or 0)
    if args.command and args.batch:
        print("rtshell: -c and -b exclude each other", file=stderr)
        return EXIT_USAGE

    from rtshell.commands import Executor, ParseError
    from rtshell.commands.executor import default_client_factory
    from rtshell.render import Output
    from rtshell.terminal import Terminal

    factory = client_factory or (lambda: default_client_factory(args.timeout))
    term = Terminal.of(stdout, stderr)  # on a terminal every write goes through it
    out = Output(output_mode(args, stdout), file=term.out if term else stdout,
                 err=(term.err or stderr) if term else stderr, devices=devices)
    ex = Executor(out, devices=devices, client_factory=factory)
    ex.verbose = args.verbose
    out.devices = ex.devices
    try:
        if args.command:
            return _run_commands(ex, args.command, ParseError)
        if args.batch is not None:
            return _run_batch(ex, args.batch, args.force, stdin, stderr)
        if _isatty(stdin) and _isatty(stdout):
            from rtshell.repl import Repl

            return Repl(ex, terminal=term).run()
        return EXIT_OK if ex.run_batch(stdin.read().splitlines(), "stdin", args.force) else EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    finally:
        try:
            ex.close()
        except Exception:
            pass


def _run_commands(ex, commands: list[str], ParseError) -> int:
    parsed = []
    for text in commands:
        try:
            parsed.append((text, ex.parse(text)))
        except ParseError as exc:
            ex.parse_error(exc, text)
            return EXIT_USAGE
        except Exception as exc:  # '?' in -c: show it, it is not an error
            from rtshell.commands import HelpRequest

            if isinstance(exc, HelpRequest):
                ex.show_expect(exc.expect, text)
                return EXIT_OK
            raise
    status = EXIT_OK
    from rtshell.commands import ExitShell

    for text, p in parsed:
        if p is None:
            continue
        try:
            if not ex.run(p):
                status = EXIT_FAIL
        except ExitShell:
            break
    return status


def _run_batch(ex, path: str, force: bool, stdin, stderr) -> int:
    if path == "-":
        lines = stdin.read().splitlines()
        source = "stdin"
    else:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            ex.output.error(f"cannot read {path}: {exc.strerror}", {"file": path, "errno": exc.errno})
            return EXIT_FAIL
        source = path
    from rtshell.commands import ExitShell

    try:
        return EXIT_OK if ex.run_batch(lines, source, force) else EXIT_FAIL
    except ExitShell:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(run())
