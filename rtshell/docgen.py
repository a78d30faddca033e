"""The `rtshell` command's manual page and its completion in bash and zsh,
generated from the tables `help` reads: the command registry and the
argument parser.  `rtshell --man` prints the page (docs/rtshell.1 is its
copy), `rtshell --completion bash|zsh` the script that asks `rtshell
--complete LINE` for the words, the same words TAB offers in the shell.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Optional

from rtshell import __version__


# -- completion ------------------------------------------------------------------------------------

BASH = r"""# bash completion for rtshell: eval "$(rtshell --completion bash)"
_rtshell() {
    local IFS=$'\n'
    COMPREPLY=($(rtshell --complete "${COMP_LINE:0:$COMP_POINT}" 2>/dev/null))
    if declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "${COMP_WORDS[COMP_CWORD]}"  # 2001:db8::/32
    fi
}
complete -o default -F _rtshell rtshell
"""

ZSH = r"""#compdef rtshell
# zsh completion for rtshell: eval "$(rtshell --completion zsh)", or save as _rtshell in $fpath
_rtshell() {
    local -a found
    found=("${(@f)$(rtshell --complete "${BUFFER[1,CURSOR]}" 2>/dev/null)}")
    compadd -Q -- ${found:#}
}
compdef _rtshell rtshell
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}


def _takes_value(parser: argparse.ArgumentParser, option: str) -> bool:
    for action in parser._actions:
        if option in action.option_strings:
            return action.nargs != 0
    return False


def complete(line: str, parser: argparse.ArgumentParser) -> list[str]:
    """The words that may replace the last one of ``line`` (``rtshell -6 route s``):
    options before the command, then what TAB offers in the shell."""
    from rtshell.cli import ip_spelling

    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: complete as if it were closed
        words = shlex.split(line + '"') if line.count('"') % 2 else shlex.split(line + "'")
    current = "" if not line or line[-1].isspace() else (words.pop() if words else "")
    words = ip_spelling(words[1:])  # without the program's name
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if _takes_value(parser, words[i]) else 1
    if i > len(words):  # the current word is an option's value
        return []
    command = words[i:]
    if not command and current.startswith("-"):
        return sorted(o for a in parser._actions for o in a.option_strings
                      if o.startswith(current) and a.help != argparse.SUPPRESS)
    from rtshell.completion import CompletionEngine, LiveValues
    from rtshell.names import Devices

    engine = CompletionEngine(LiveValues(Devices()))
    text = " ".join(shlex.quote(w) for w in command)
    return [s.text for s in engine.complete((text + " " if text else "") + current)]


# -- the manual page -----------------------------------------------------------------------------------


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in ".'" else line for line in text.split("\n"))


def man_page(parser: argparse.ArgumentParser, date: Optional[str] = None) -> str:
    from rtshell.commands import REGISTRY
    from rtshell.commands.pipe import STAGES

    out = [f'.TH RTSHELL 1 "{date or ""}" "rtshell {__version__}" "User Commands"',
           ".SH NAME", "rtshell \\- shell for the rtmgr in-kernel routing table",
           ".SH SYNOPSIS", ".B rtshell", "[\\fIOPTIONS\\fR] [\\fICOMMAND\\fR...]",
           ".SH DESCRIPTION", _roff(parser.description or ""), ".SH OPTIONS"]
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        names = ", ".join(action.option_strings)
        meta = f" \\fI{action.metavar or action.dest.upper()}\\fR" if action.nargs != 0 else ""
        out += [".TP", f"\\fB{_roff(names)}\\fR{meta}", _roff(action.help or "")]
    out += [".SH COMMANDS",
            _roff("Every word may be abbreviated to a unique prefix (ip's shortcuts too: r, a, s, l); "
                  "Tab completes and ? lists what may come next in the interactive shell.")]
    for spec in sorted(REGISTRY.specs, key=lambda s: s.name):
        out += [".TP", f"\\fB{_roff(spec.usage)}\\fR", _roff(spec.summary)]
        if spec.help:
            out += [".IP", _roff(" ".join(spec.help.split()))]
        for example in spec.examples:
            out += [".IP", f"\\fB{_roff(example)}\\fR"]
    out += [".SH OUTPUT FILTERS",
            _roff(f"After a command that prints ({', '.join(s.name for s in REGISTRY.specs if s.pipes)}), "
                  "a '|' and one of these filters what it prints; routes "
                  "are matched on their ip words in every output mode, other output line by line. "
                  "The REGEX is the rest of the line (a Python regular expression).")]
    for stage, text in STAGES.items():
        out += [".TP", f"\\fB| {stage}\\fR" + ("" if stage == "count" else " \\fIREGEX\\fR")
                + (" [\\fIREGEX\\fR]" if stage == "count" else ""), _roff(text)]
    out += [".SH PAGER",
            _roff("In the interactive shell, output longer than the screen goes through "
                  "$RTSHELL_PAGER, else $PAGER, else less (LESS=FRX unless LESS is set), else a "
                  "built-in one (RTSHELL_PAGER=builtin chooses it; cat means none). q leaves the "
                  "pager and stops the command; Ctrl-C stops the command and the pager shows what it got until q. "
                  "terminal no paginate turns it off.")]
    out += [".SH EXAMPLES", ".nf", _roff(parser.epilog or "").replace("examples:\n", ""), ".fi",
            ".SH EXIT STATUS",
            _roff("0 when every command succeeded, 1 when any failed, 2 for a wrong invocation; "
                  "killed by SIGPIPE (141 in a shell) when the reader of its output goes, as ip is."),
            ".SH FILES", ".TP", "\\fI~/.local/state/rtshell/history\\fR", "the shell's history",
            ".SH SEE ALSO", "\\fBip\\-route\\fR(8), \\fBip\\-monitor\\fR(8); docs/json.md for the JSON output"]
    return "\n".join(out) + "\n"
