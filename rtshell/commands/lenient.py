"""What a lenient parse left out of lines pasted from ``ip route``.

With ``--lenient`` (``lenient on``) a route change drops the words rtmgr
has no meaning for (``scope link``, ``src A``) and leaves out whole lines of
routes it does not keep (``local``, ``broadcast``); see
:data:`rtshell.commands.routes.FIB_ONLY`.  A single command says so in one
warning line; a batch or a restore counts them and says it once at the end,
so a restore of a million pasted lines prints two lines, not two million.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from rtshell.commands.registry import Parsed


class LeftOut:
    def __init__(self) -> None:
        self.words: Counter[str] = Counter()  # dropped word -> lines
        self.lines: Counter[str] = Counter()  # why a line was left out -> lines (by its word)

    def __bool__(self) -> bool:
        return bool(self.words or self.lines)

    def note(self, parsed: Parsed) -> None:
        if parsed.skip is not None:
            self.lines[parsed.dropped[0][0].text] += 1
            return
        for word in dict.fromkeys(words[0].text for words in parsed.dropped):  # once a line, in order
            self.words[word] += 1

    @staticmethod
    def one(parsed: Parsed) -> Optional[str]:
        """The warning for one command, or None when nothing was left out."""
        if parsed.skip is not None:
            return f"left out: {parsed.skip}"
        if parsed.dropped:
            return f"dropped words rtmgr routes do not have: {parsed.dropped_text()}"
        return None

    def summary(self) -> list[str]:
        """The warnings of a batch: one line per kind, then counters reset."""
        out = []
        if self.lines:
            n = sum(self.lines.values())
            out.append(f"left out {n:,} line{'s' if n != 1 else ''} of routes rtmgr does not keep: "
                       + ", ".join(f"{w} {c:,}" for w, c in self.lines.most_common()))
        if self.words:
            out.append("dropped words rtmgr routes do not have: "
                       + ", ".join(f"{w} ({c:,} line{'s' if c != 1 else ''})" for w, c in self.words.most_common()))
        self.words.clear()
        self.lines.clear()
        return out
