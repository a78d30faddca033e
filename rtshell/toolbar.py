"""The bottom toolbar: the problem with the line being typed (or a hint),
route counts, events per second, pending requests, transaction and trace.

The counts are written by the refresher thread into :class:`ToolbarState`
under its lock; the toolbar only reads (prompt_toolkit calls it on every
redraw, and every second through refresh_interval).
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

from prompt_toolkit.application.current import get_app_or_none

from rtshell.commands.grammar import tokenize_lenient
from rtshell.commands.registry import REGISTRY
from rtshell.commands.watch import Rate
from rtshell.validate import Problem


class ToolbarState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.routes4: Optional[int] = None
        self.routes6: Optional[int] = None
        self.max_routes: Optional[int] = None
        self.rate = Rate()
        self.connection: Optional[str] = "connecting"  # None when the client is open
        self.pending: Callable[[], Optional[int]] = lambda: None
        self.txn: Callable[[], Optional[int]] = lambda: None
        self.tracing: Callable[[], bool] = lambda: False

    def set_counts(self, routes4: int, routes6: int, max_routes: Optional[int] = None) -> None:
        with self.lock:
            self.routes4, self.routes6, self.max_routes = routes4, routes6, max_routes

    def set_connection(self, problem: Optional[str]) -> None:
        with self.lock:
            self.connection = problem


def hint(text: str) -> str:
    """The usage of the command being typed, or how to get help."""
    node = REGISTRY.reach([t.text for t in tokenize_lenient(text)]).node
    if node.spec is not None and not node.children:
        return node.spec.usage
    return "Tab completes, ? shows what may come next, help lists commands, Ctrl-D leaves"


class Toolbar:
    """Callable for PromptSession(bottom_toolbar=...): formatted text."""

    def __init__(self, state: ToolbarState, check: Callable[[str], Optional[Problem]]):
        self.state = state
        self.check = check
        self._last: tuple[str, Optional[Problem]] = ("", None)

    def problem(self, text: str) -> Optional[Problem]:
        if self._last[0] != text:
            self._last = (text, self.check(text))
        return self._last[1]

    def status(self) -> str:
        st = self.state
        with st.lock:
            r4, r6, conn = st.routes4, st.routes6, st.connection
        parts = []
        if conn:
            parts.append(conn)
        else:
            parts.append(f"v4 {r4 if r4 is not None else '?'}  v6 {r6 if r6 is not None else '?'}")
        parts.append(f"{st.rate.rate():.1f} ev/s")
        pending = st.pending()
        if pending is not None:
            parts.append(f"pending {pending}")
        txn = st.txn()
        if txn is not None:
            parts.append(f"txn {txn} staged")
        if st.tracing():
            parts.append("trace")
        return " | ".join(parts)

    def fragments(self, text: str) -> list[tuple[str, str]]:
        problem = self.problem(text)
        if problem is None:
            left = [("class:toolbar.hint", hint(text) if text.strip() else hint(""))]
        elif problem.incomplete:
            left = [("class:toolbar.incomplete", problem.message)]
        else:
            left = [("class:toolbar.error", f"✗ {problem.message}")]
        return left + [("class:toolbar", "   "), ("class:toolbar.status", self.status())]

    def __call__(self):
        app = get_app_or_none()
        text = app.current_buffer.document.text_before_cursor if app is not None else ""
        return self.fragments(text)
