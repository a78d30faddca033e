"""Names a network engineer types, and the numbers the kernel speaks.

* devices: ``socket.if_nameindex()``, re-read when a name or index is unknown
  (devices come and go while the shell runs);
* tables: ``main`` 254, ``local`` 255, ``default`` 253, any number, plus the
  names in ``/etc/iproute2/rt_tables`` (and ``rt_tables.d/*.conf``);
* protocols: ``/etc/iproute2/rt_protos`` (and ``rt_protos.d/*.conf``) over
  built-in defaults, so the shell speaks the same words as ``ip route``;
* route types: ``unicast``, ``blackhole``, ``unreachable``, ``prohibit``.

Every ``parse_*`` raises ValueError with a message fit to show the user;
every ``*_name`` never fails (an unknown number is shown as the number).
"""

from __future__ import annotations

import glob
import os
import socket
import threading
import time
from typing import Callable, Iterable, Optional, Protocol

from rtshell.model import RouteType

TABLE_MAX = 2**32 - 1
PROTO_MAX = 255

DEFAULT_TABLES = {"unspec": 0, "default": 253, "main": 254, "local": 255}

DEFAULT_PROTOS = {
    "unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4,
    "gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13,
    "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42,
    "openr": 99, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
}

TYPES = {t.label: t for t in RouteType if t != RouteType.UNSPEC}

IPROUTE2_DIRS = ("/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2")


def _read_map(basename: str, limit: int, base: dict[str, int]) -> dict[str, int]:
    """Read an iproute2 'NUMBER NAME' file (plus its .d directory) over base."""
    result = dict(base)
    paths: list[str] = []
    for d in IPROUTE2_DIRS:
        paths.append(os.path.join(d, basename))
        paths.extend(sorted(glob.glob(os.path.join(d, basename + ".d", "*.conf"))))
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if len(words) < 2:
                continue
            try:
                num = int(words[0], 0)
            except ValueError:
                continue
            if 0 <= num <= limit and words[1] not in result:
                result[words[1]] = num
    return result


class _NumberNames:
    """A two-way map between names and numbers, with numbers always accepted."""

    def __init__(self, what: str, limit: int, mapping: dict[str, int]):
        self.what = what
        self.limit = limit
        self.by_name = mapping
        self.by_number: dict[int, str] = {}
        for name, num in mapping.items():
            self.by_number.setdefault(num, name)

    def parse(self, text: str) -> int:
        if text in self.by_name:
            return self.by_name[text]
        try:
            num = int(text, 0)
        except ValueError:
            raise ValueError(f"unknown {self.what} {text!r}") from None
        if not 0 <= num <= self.limit:
            raise ValueError(f"{self.what} {text} out of range 0..{self.limit}")
        return num

    def name(self, num: Optional[int]) -> str:
        if num is None:
            return "-"
        return self.by_number.get(num, str(num))

    def names(self) -> list[str]:
        return sorted(self.by_name, key=lambda n: (self.by_name[n], n))


_tables: Optional[_NumberNames] = None
_protos: Optional[_NumberNames] = None


def _table_map() -> _NumberNames:
    global _tables
    if _tables is None:
        _tables = _NumberNames("table", TABLE_MAX, _read_map("rt_tables", TABLE_MAX, DEFAULT_TABLES))
    return _tables


def _proto_map() -> _NumberNames:
    global _protos
    if _protos is None:
        _protos = _NumberNames("protocol", PROTO_MAX, _read_map("rt_protos", PROTO_MAX, DEFAULT_PROTOS))
    return _protos


def parse_table(text: str) -> int:
    """'main', 'local', 'default', a name from rt_tables, or a number 1..2^32-1."""
    num = _table_map().parse(text)
    if num == 0:
        raise ValueError("table 0 is not a table (use main, or a number from 1)")
    return num


def table_name(num: Optional[int]) -> str:
    return _table_map().name(num)


def table_names() -> list[str]:
    return [n for n in _table_map().names() if n != "unspec"]


def parse_proto(text: str) -> int:
    return _proto_map().parse(text)


def proto_name(num: Optional[int]) -> str:
    return _proto_map().name(num)


def proto_names() -> list[str]:
    return _proto_map().names()


def parse_type(text: str) -> RouteType:
    try:
        return TYPES[text]
    except KeyError:
        raise ValueError(f"unknown route type {text!r} (one of: {', '.join(TYPES)})") from None


def type_name(rtype: int) -> str:
    try:
        return RouteType(rtype).label
    except ValueError:
        return str(int(rtype))


def type_names() -> list[str]:
    return list(TYPES)


class DeviceNames(Protocol):
    """Anything that names an interface index (Devices, IndexNames)."""

    def name(self, index: Optional[int]) -> Optional[str]: ...


class IndexNames:
    """Interface names for texts made on the fly (the request an error names),
    each index asked of the kernel at most once per ``ttl`` seconds: a batch
    whose thousand requests fail names the same device a thousand times, and
    each if_indextoname() is a socket, an ioctl and a close."""

    def __init__(self, ttl: float = 1.0,
                 lookup: Callable[[int], str] = socket.if_indextoname,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._lookup = lookup
        self._clock = clock
        self._seen: dict[int, tuple[float, str]] = {}  # index -> (when, name)

    def name(self, index: Optional[int]) -> Optional[str]:
        """The index's name, 'if<N>' when no device has it, None for None."""
        if index is None:
            return None
        now = self._clock()
        hit = self._seen.get(index)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        try:
            name = self._lookup(index)
        except (OSError, TypeError, ValueError, OverflowError):  # no device, or no index at all
            name = f"if{index}"
        if len(self._seen) >= 4096:
            self._seen.clear()
        self._seen[index] = (now, name)
        return name


#: the names the client and the netlink layer give devices in a request's text
REQUEST_NAMES = IndexNames()


class Devices:
    """Interface names and indexes, re-read when asked about an unknown one."""

    def __init__(self, source: Callable[[], Iterable[tuple[int, str]]] = socket.if_nameindex) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._by_name: dict[str, int] = {}
        self._by_index: dict[int, str] = {}
        self.refresh()

    def refresh(self) -> None:
        try:
            pairs = list(self._source())
        except OSError:
            pairs = []
        with self._lock:
            self._by_index = {i: n for i, n in pairs}
            self._by_name = {n: i for i, n in pairs}

    def index(self, name: str) -> int:
        """The index of a device name; ValueError if there is none."""
        with self._lock:
            idx = self._by_name.get(name)
        if idx is None:
            self.refresh()
            with self._lock:
                idx = self._by_name.get(name)
        if idx is None:
            raise ValueError(f"unknown device {name!r}")
        return idx

    def name(self, index: Optional[int]) -> Optional[str]:
        """The name of an index, None for None, 'if<N>' for a gone device."""
        if index is None:
            return None
        with self._lock:
            name = self._by_index.get(index)
        if name is None:
            self.refresh()
            with self._lock:
                name = self._by_index.get(index)
        return name if name is not None else f"if{index}"

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._by_name)

    def known(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name
