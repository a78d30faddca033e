"""Results: rows of figures grouped in sections, ratios, the table, JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from bench.timing import median


@dataclass
class Row:
    """One contender's figure in a section.

    ``value`` is the figure in ``unit``; ``higher_is_better`` says which way
    is good.  rtshell's rows have ``rtshell=True``; every other row is
    compared with the rtshell row whose ``id`` it names in ``versus`` (the
    section's first rtshell row by default): ``ratio`` > 1 means rtshell is
    better by that factor.
    """

    contender: str
    value: Optional[float]
    unit: str
    higher_is_better: bool
    rtshell: bool = False
    id: str = ""
    versus: str = ""
    count: Optional[int] = None  # items the figure is measured over (routes, samples, events)
    runs: list[float] = field(default_factory=list)  # seconds of each timed run
    note: str = ""
    ratio: Optional[float] = None


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # machine-readable details for the JSON

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def finish(self) -> None:
        """Compute each peer row's ratio against its rtshell row."""
        refs = {r.id: r for r in self.rows if r.rtshell and r.id}
        first = next((r for r in self.rows if r.rtshell), None)
        for row in self.rows:
            if row.rtshell:
                continue
            ref = refs.get(row.versus) if row.versus else first
            if ref is None or not ref.value or not row.value:
                continue
            if row.higher_is_better:
                row.ratio = ref.value / row.value
            else:
                row.ratio = row.value / ref.value


def _figure(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    if unit == "us":
        return f"{value:,.0f} us" if value >= 100 else f"{value:,.1f} us"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


def _seconds(runs: list[float]) -> str:
    if not runs:
        return ""
    med = median(runs)
    return f"{med:.3f} s" if med < 10 else f"{med:.1f} s"


def _ratio(row: Row) -> str:
    if row.rtshell:
        return "(rtshell)"
    if row.ratio is None:
        return "-"
    word = "better" if row.ratio >= 1 else "worse"
    shown = row.ratio if row.ratio >= 1 else 1 / row.ratio
    return f"{shown:,.2f}x {word}"


def render(header: list[str], sections: list[Section]) -> str:
    """The readable table: one block per section."""
    lines = list(header)
    width = max((len(r.contender) for s in sections for r in s.rows), default=20) + 2
    lines.append("")
    lines.append(f"{'':3}{'contender':<{width}}{'runs':>5}  {'time (median)':>13}  {'figure':>22}  rtshell vs it")
    for s in sections:
        lines.append("")
        lines.append(s.title)
        for r in s.rows:
            runs = str(len(r.runs)) if r.runs else ""
            lines.append(
                f"{'':3}{r.contender:<{width}}{runs:>5}  {_seconds(r.runs):>13}  "
                f"{_figure(r.value, r.unit):>22}  {_ratio(r)}"
            )
            if r.note:
                lines.append(f"{'':6}{r.note}")
        for note in s.notes:
            lines.append(f"   * {note}")
    return "\n".join(lines) + "\n"


def write(directory: Path, stem: str, meta: dict, sections: list[Section], text: str) -> tuple[Path, Path]:
    """build/vm/<stem>.json and .txt; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    data = dict(meta, sections=[asdict(s) for s in sections])
    json_path = directory / f"{stem}.json"
    text_path = directory / f"{stem}.txt"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    text_path.write_text(text)
    return json_path, text_path
