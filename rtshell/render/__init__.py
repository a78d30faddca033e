"""Routes, events and answers as rich tables, plain text or JSON.

Three modes, chosen once per run:

* ``rich``: tables and colour, for a terminal;
* ``plain``: stable text, one route per line in ``ip route`` form (a line of
  ``route show`` pasted after ``route add`` adds that route again), for pipes;
* ``json``: every command prints exactly one JSON document on one line
  (``route show`` one array, ``monitor`` one object per event).

Each mode is a class behind one interface, :class:`Output` (pgcli's
formatters, not one class asking "am I JSON?" in every method);
``Output(mode, file=..., ...)`` makes the one for a mode, as
``pathlib.Path(...)`` makes a PosixPath.  Where each is made:

* ``base.py``: :class:`Output`, the interface, and what every mode shares
  (the lock, text held while a pager has the screen, pipes, the progress
  bar, lines on stderr);
* ``rich_mode.py``: :class:`RichOutput`, and ``rich_views.py`` the rich
  tables, event lines and watch screen it draws (the REPL and watch too);
* ``plain_mode.py``: :class:`PlainOutput`, ``ip``'s words a line at a time;
* ``json_mode.py``: :class:`JsonOutput` and its documents (docs/json.md);
* ``text.py``: the words all modes share (filters, who caused a change).

Renderers take snapshots (routes, events, stats: frozen dataclasses) and
build fresh rich objects every time; no Table crosses a thread.  Large dumps
stream: rows are rendered in chunks as the dump iterator yields them, with
column widths fixed by the first chunk, so the first screen appears at once
and a million routes never sit in memory as text.

Background output (notifications, trace) is rendered to an ANSI string by
:func:`to_ansi`; the REPL prints that above the prompt.

Every name below stays importable from ``rtshell.render``.
"""

from rtshell.render.base import CHUNK, MODES, Held, Output, PipeFile
from rtshell.render.json_mode import (
    JsonOutput, dumps, event_json, filter_json, iso_time, lookup_json, route_json, stats_json,
)
from rtshell.render.plain_mode import FLUSH_EVERY, PlainOutput, event_plain, stamp_plain
from rtshell.render.rich_mode import RichOutput
from rtshell.render.rich_views import (  # _route_table, _widths: for the tests of route_lines
    COLUMN_GAP, COLUMNS, FLOORS, METRIC_COLUMN, TYPE_STYLE, Row, Sgr, _route_table, _widths, event_line,
    lookup_table, route_cells, route_lines, route_row, route_table, stats_table, terminal_width, to_ansi,
    watch_position, watch_view,
)
from rtshell.render.text import filter_text, origin_text, process_name, resync_details, resync_summary
from rtshell.words import nexthop_text, prefix_text, route_text

__all__ = [
    "CHUNK", "COLUMN_GAP", "COLUMNS", "FLOORS", "FLUSH_EVERY", "METRIC_COLUMN", "TYPE_STYLE",
    "MODES", "Held", "JsonOutput", "Output", "PipeFile", "PlainOutput", "RichOutput", "Row", "Sgr",
    "dumps", "event_json", "event_line", "event_plain", "filter_json", "filter_text", "iso_time",
    "lookup_json", "lookup_table", "nexthop_text", "origin_text", "prefix_text", "process_name",
    "resync_details", "resync_summary", "route_cells", "route_json", "route_lines", "route_row",
    "route_table", "route_text", "stamp_plain", "stats_json", "stats_table", "terminal_width", "to_ansi",
    "watch_position", "watch_view",
]
