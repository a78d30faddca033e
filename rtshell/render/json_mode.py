"""JSON mode: every command prints exactly one JSON document on one line
(``route show`` one array, streamed as the dump comes; ``monitor`` one
object per event).  The shapes are documented in docs/json.md."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any, Iterable, Optional

from rtshell import names
from rtshell.model import Event, Filter, LookupResult, Match, Route, Stats
from rtshell.render.base import CHUNK, Output
from rtshell.words import dev_name as _dev


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False)


def route_json(route: Route, devices=None) -> dict[str, Any]:
    obj = {
        "dst": str(route.dst),
        "family": route.family,
        "gateway": str(route.gateway) if route.gateway is not None else None,
        "dev": _dev(devices, route.oif),
        "metric": route.metric,
        "table": names.table_name(route.table),
        "table_id": route.table,
        "type": names.type_name(route.type),
        "protocol": names.proto_name(route.proto),
        "nexthops": [
            {"gateway": str(h.gateway) if h.gateway is not None else None,
             "dev": _dev(devices, h.oif), "weight": h.weight}
            for h in route.nexthops
        ],
    }
    if route.created is not None:
        obj["created"] = route.created
    if route.changed is not None:
        obj["changed"] = route.changed
    return obj


def filter_json(flt: Optional[Filter], devices=None) -> Optional[dict[str, Any]]:
    if flt is None:
        return None
    return {
        "family": flt.family,
        "table": names.table_name(flt.table) if flt.table is not None else None,
        "type": names.type_name(flt.type) if flt.type is not None else None,
        "protocol": names.proto_name(flt.proto) if flt.proto is not None else None,
        "dev": _dev(devices, flt.oif),
        "gateway": str(flt.gateway) if flt.gateway is not None else None,
        "metric": flt.metric,
        "prefix": str(flt.prefix) if flt.prefix is not None else None,
        "match": Match(flt.match).name.lower(),
    }


def stats_json(st: Stats) -> dict[str, Any]:
    return {
        "routes4": st.routes4, "routes6": st.routes6,
        "tables": [{"table": names.table_name(t.table), "table_id": t.table,
                    "family": t.family, "routes": t.routes} for t in st.tables],
        "memory": st.memory, "generation": st.generation, "requests": st.requests,
        "errors": st.errors, "misses": st.misses, "max_routes": st.max_routes,
    }


def lookup_json(res: LookupResult, devices=None) -> dict[str, Any]:
    return {"addr": str(res.addr), "route": route_json(res.route, devices) if res.route else None}


def iso_time(stamp: Optional[float]) -> str:
    """Seconds since the epoch (now if None) as ISO 8601 in local time, to the microsecond."""
    return datetime.datetime.fromtimestamp(time.time() if stamp is None else stamp).astimezone() \
        .isoformat(timespec="microseconds")


def event_json(ev: Event, devices=None, origin: Optional[str] = None) -> dict[str, Any]:
    if ev.kind == "resync":
        return {"event": "resync", "time": iso_time(ev.time),
                **{n: [route_json(r, devices) for r in getattr(ev, n)]
                   for n in ("added", "removed", "changed")}}
    return {
        "event": ev.kind,
        "time": iso_time(ev.time),
        "route": route_json(ev.route, devices) if ev.route is not None else None,
        "filter": filter_json(ev.filter, devices),
        "count": ev.count,
        "pid": ev.pid,
        "seq": ev.seq,
        "origin": origin,
    }


class JsonOutput(Output):
    """One JSON document per answer, on one line (indented with -p)."""

    mode = "json"
    json = True

    def doc(self, obj: Any) -> None:
        """One JSON document on its own line (indented over several with -p)."""
        self.line(json.dumps(obj, indent=2) if self.pretty else dumps(obj))

    def _stderr(self, label: str, style: str, message: str, pointer: Optional[str]) -> None:
        super()._stderr(label, style, message, None)  # one line: no caret line over it

    def _failed(self, message: str, data: Optional[dict]) -> None:
        self.doc({"ok": False, "error": {"message": message, **(data or {})}})

    def _routes(self, routes: Iterable[Route], title: Optional[str]) -> int:
        n = 0
        # streamed: one array, written as the dump comes (-p: indented as json.dumps(indent=2) would)
        first, sep = ("\n  ", ",\n  ") if self.pretty else ("", ",")
        with self.lock:
            self.file.write("[")
            try:
                for r in routes:
                    obj = route_json(r, self.devices)
                    text = json.dumps(obj, indent=2).replace("\n", "\n  ") if self.pretty else dumps(obj)
                    self.file.write((sep if n else first) + text)
                    n += 1
                    if n % CHUNK == 0:
                        self.file.flush()
            finally:
                self.file.write("\n]\n" if n and self.pretty else "]\n")
                self.file.flush()
        return n

    def route(self, route: Route) -> None:
        self.doc(route_json(route, self.devices))

    def lookup(self, results: list[LookupResult]) -> None:
        self.doc([lookup_json(r, self.devices) for r in results])

    def stats(self, st: Stats) -> None:
        self.doc(stats_json(st))

    def event(self, ev: Event, origin: Optional[str] = None) -> None:
        self.doc(event_json(ev, self.devices, origin))

    def ack(self, message: str, data: Optional[dict] = None, quiet: bool = False) -> None:
        self.doc({"ok": True, **(data or {})})

    def info(self, message: str, data: Optional[dict] = None) -> None:
        self.doc({"ok": True, "message": message, **(data or {})})

    def explain(self, command: str, parts: list[tuple[str, str, bytes]]) -> None:
        self.doc({"command": command, "sends": bool(parts),
                  "requests": [{"request": w, "decoded": d, "hex": b.hex(), "length": len(b)}
                               for w, d, b in parts]})

    def diff(self, changes: list[dict[str, Any]]) -> None:
        self.doc({"changes": [{
            "op": c["op"], "command": c["line"], "note": c.get("note"),
            "before": route_json(c["before"], self.devices) if c["before"] else None,
            "after": route_json(c["after"], self.devices) if c["after"] else None,
        } for c in changes]})

    def help(self, rows: list[tuple[str, str]], title: Optional[str] = None, body: str = "") -> None:
        self.doc({"help": title, "text": body, "items": [{"name": a, "help": b} for a, b in rows]})

    def _count(self, n: int) -> None:
        self.doc({"count": n})
