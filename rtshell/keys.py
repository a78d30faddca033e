"""Key bindings: '?' shows what may come next, above the prompt.

Ctrl-C (cancel the line), Ctrl-D (leave on an empty line), Tab (complete)
are prompt_toolkit's own bindings; the REPL loop turns their exceptions
into a fresh prompt or an exit.
"""

from __future__ import annotations

from typing import Callable

from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.key_binding import KeyBindings


def _in_quotes(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("'") % 2 == 1


def build_key_bindings(help_rows: Callable[[str], list[tuple[str, str]]],
                       show: Callable[[str, list[tuple[str, str]]], None]) -> KeyBindings:
    """help_rows(text before cursor) -> rows; show(title, rows) prints them.

    show runs through run_in_terminal: the prompt is hidden, the rows are
    printed, and the prompt comes back with the line as it was.
    """
    kb = KeyBindings()

    @kb.add("?")
    def _(event) -> None:
        buf = event.app.current_buffer
        before = buf.document.text_before_cursor
        if _in_quotes(before):
            buf.insert_text("?")
            return
        rows = help_rows(before)
        title = (before.strip() or "(start)") + " ?"
        run_in_terminal(lambda: show(title, rows))

    return kb
