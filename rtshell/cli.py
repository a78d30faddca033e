"""The `rtshell` command: the shell, a COMMAND from argv or -c, -b FILE, -j.

Exit status: 0 when every command succeeded, 1 when any failed, 2 for a
wrong invocation (including a -c command that does not parse; in a batch a
line that does not parse is a failing line: 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import signal
import sys
from typing import Optional

from rtshell import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

SHELL_DEPS = ("prompt_toolkit", "rich")  # the `shell` extra: the library needs neither
SHELL_DEPS_MISSING = "rtshell: the shell needs prompt_toolkit and rich: pip install 'rtshell[shell]'"


EXAMPLES = """\
examples:
  rtshell                                   the interactive shell
  rtshell route show table all              one command from the arguments, as ip takes it
  rtshell -6 route show                     IPv6 only
  rtshell -j -p route show                  JSON, indented
  rtshell -c 'route add 10.0.0.0/8 via 10.99.0.2' -c 'route show'
  rtshell -batch routes.txt -force          every line run, every failing one reported
  rtshell -ts monitor                       route changes, each with its time
"""

# ip's own spellings: one dash and any prefix of the word (-batch, -ba, -force, -json...)
IP_OPTIONS = ("batch", "force", "json", "pretty", "oneline", "timestamp", "tshort", "family",
              "lenient", "version")
WITH_VALUE = frozenset({"-c", "--command", "-b", "--batch", "--timeout", "-f", "--family"})


def ip_spelling(argv: list[str]) -> list[str]:
    """Options as ip spells them (``-batch FILE``, ``-force``, ``-ts``) made
    argparse's (``--batch FILE``...).  Only before the command: after its
    first word everything is the command's."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or arg == "-" or not arg.startswith("-"):
            return out + argv[i:]
        if not arg.startswith("--") and len(arg) > 2 and not arg[1].isdigit():
            word = arg[1:]
            found = ["tshort"] if word == "ts" else [n for n in IP_OPTIONS if n.startswith(word)]
            if len(found) == 1:
                arg = "--" + found[0]
        out.append(arg)
        if arg in WITH_VALUE and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 1
        i += 1
    return out


FAMILIES = {"4": 4, "inet": 4, "ipv4": 4, "6": 6, "inet6": 6, "ipv6": 6}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtshell",
        usage="rtshell [OPTIONS] [COMMAND...]",
        description="Shell for the rtmgr in-kernel routing table.  With a COMMAND (its words as "
                    "arguments, or -c), it runs it and exits; without, on a terminal, it is the "
                    "interactive shell, else it reads commands from stdin.  Options may also be "
                    "spelled as ip spells them: -batch, -force, -json, -pretty, -oneline, -ts...",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("command_words", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="one command, as typed in the shell (rtshell route show table all)")
    p.add_argument("-c", "--command", action="append", metavar="COMMAND",
                   help="run COMMAND and exit (may be repeated; they run in order)")
    p.add_argument("-b", "--batch", metavar="FILE",
                   help="run the commands of FILE ('-' for stdin), one per line, '#' comments")
    p.add_argument("--force", action="store_true",
                   help="in a batch, go on after a failing line (like ip -force)")
    p.add_argument("-4", dest="family", action="store_const", const=4, help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const=6, help="IPv6 only")
    p.add_argument("-f", "--family", dest="family", type=lambda t: FAMILIES[t], metavar="inet|inet6",
                   help="the family, as ip -f takes it")
    p.add_argument("-j", "--json", action="store_true", help="JSON output: one document per command "
                                                            "(docs/json.md)")
    p.add_argument("-p", "--pretty", action="store_true", help="JSON indented over several lines")
    p.add_argument("-o", "--oneline", action="store_true",
                   help="plain text, one line per record (what scripts read; routes always are)")
    p.add_argument("-t", "--timestamp", action="store_true",
                   help="monitor: a 'Timestamp:' line before each change (ip monitor -t)")
    p.add_argument("--tshort", action="store_true",
                   help="monitor: each change prefixed with its time, ISO 8601 (ip monitor -ts)")
    p.add_argument("--lenient", action="store_true",
                   help="route changes pasted from ip: drop the words rtmgr routes do not have "
                        "(scope, src, ...) with a warning, instead of refusing the line")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for the kernel (default 5)")
    p.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="a batch on a terminal prints every applied route, not only a progress bar and a summary")
    p.add_argument("-V", "--version", action="version", version=f"rtshell {__version__}")
    return p


def argv_command(words: list[str]) -> str:
    """The command line the words of argv make (quoted where the shell would need it)."""
    return " ".join(w if w and not any(c.isspace() or c in "'\"#" for c in w) else shlex.quote(w)
                    for w in words)


def output_mode(args, stdout) -> str:
    if args.json:
        return "json"
    if args.plain or args.oneline or not _isatty(stdout) or os.environ.get("TERM") == "dumb":
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
        args = parser.parse_args(ip_spelling(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as exc:  # argparse: usage errors are 2, --help/--version 0
        return int(exc.code or 0)
    if args.command_words and args.command_words[0] == "--":
        args.command_words = args.command_words[1:]
    if args.command_words:
        args.command = (args.command or []) + [argv_command(args.command_words)]
    if args.command and args.batch:
        print("rtshell: a command and -b exclude each other", file=stderr)
        return EXIT_USAGE

    from rtshell.commands import Executor, ParseError
    from rtshell.commands.executor import default_client_factory
    from rtshell.render import Output
    from rtshell.terminal import Terminal

    factory = client_factory or (lambda: default_client_factory(args.timeout))
    term = Terminal.of(stdout, stderr)  # on a terminal every write goes through it
    out = Output(output_mode(args, stdout), file=term.out if term else stdout,
                 err=(term.err or stderr) if term else stderr, devices=devices)
    out.pretty = args.pretty
    out.timestamps = "short" if args.tshort else "long" if args.timestamp else None
    ex = Executor(out, devices=devices, client_factory=factory)
    ex.verbose = args.verbose
    ex.ctx.lenient = args.lenient
    ex.ctx.family = args.family
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
