"""Kernel memory: /proc/slabinfo objects and /proc/meminfo counters.

A snapshot holds, per slab cache, active objects x object size (bytes in
use, unaffected by free objects left in slabs by earlier runs), and the
meminfo counters Slab and VmallocUsed (pages actually taken).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Snapshot:
    caches: dict[str, int]  # cache name -> bytes of active objects
    meminfo: dict[str, int]  # field -> bytes


def _slabinfo() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            if line.startswith(("slabinfo", "#")):
                continue
            fields = line.split()
            name, active, objsize = fields[0], int(fields[1]), int(fields[3])
            out[name] = out.get(name, 0) + active * objsize
    return out


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def snapshot() -> Snapshot:
    return Snapshot(_slabinfo(), _meminfo())


@dataclass(frozen=True)
class Growth:
    objects: int  # change of active slab object bytes, every cache
    slab: int  # change of meminfo Slab
    vmalloc: int  # change of meminfo VmallocUsed
    top: list[tuple[str, int]]  # the caches that grew most, bytes


def growth(before: Snapshot, after: Snapshot, top: int = 5) -> Growth:
    names = set(before.caches) | set(after.caches)
    deltas = {n: after.caches.get(n, 0) - before.caches.get(n, 0) for n in names}
    grown = sorted(((n, d) for n, d in deltas.items() if d > 0), key=lambda x: -x[1])[:top]
    return Growth(
        objects=sum(deltas.values()),
        slab=after.meminfo.get("Slab", 0) - before.meminfo.get("Slab", 0),
        vmalloc=after.meminfo.get("VmallocUsed", 0) - before.meminfo.get("VmallocUsed", 0),
        top=grown,
    )
