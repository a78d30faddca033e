"""Plain mode: stable text for pipes, one route per line in ``ip route``
form (a line of ``route show`` pasted after ``route add`` adds that route
again); events as ``ip monitor`` prints them."""

from __future__ import annotations

import datetime
import time
from typing import Optional

from rtshell.model import Event
from rtshell.render.text import filter_text, resync_details, resync_summary
from rtshell.words import route_text


def stamp_plain(ev: Event, style: Optional[str]) -> str:
    """What goes before an event's plain line, as ``ip monitor`` has it:
    'long' (-t) a line 'Timestamp: Wed Dec  2 16:55:01 2026 123456 usec',
    'short' (-ts) '[2026-12-02T16:55:01.123456]'; None nothing."""
    if style is None:
        return ""
    when = time.time() if ev.time is None else ev.time
    if style == "short":
        return f"[{datetime.datetime.fromtimestamp(when).isoformat(timespec='microseconds')}] "
    return f"Timestamp: {time.strftime('%a %b %e %H:%M:%S %Y', time.localtime(when))} " \
           f"{int(when * 1e6) % 1000000} usec\n"


def event_plain(ev: Event, devices=None, origin: Optional[str] = None) -> str:
    if ev.kind == "new":
        body = "new " + route_text(ev.route, devices)
    elif ev.kind == "del":
        body = "del " + route_text(ev.route, devices)
    elif ev.kind == "flush":
        body = f"flush {ev.count} {filter_text(ev.filter, devices) or 'all'}"
    elif ev.kind == "resync":
        return "\n".join([resync_summary(ev)] + ["  " + x for x in resync_details(ev, devices, limit=None)])
    elif ev.kind == "overrun":
        return "overrun notifications lost"
    else:
        body = ev.kind
    return f"{body} by {origin}" if origin else body
