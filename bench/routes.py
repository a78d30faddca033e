"""The route set every contender works on: N IPv4 /32 routes in 10.0.0.0/10.

The same prefixes go to rtmgr (as Route objects), to ``ip -batch`` (as a
file of ``route add`` lines) and to pyroute2 (as strings), always through
dummy0 and in table 100: the kernel FIB's table 100 is consulted only for
10.0.0.0/10 (the rule the benchmark adds), so the VM's own routes are never
touched.
"""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

from rtshell.model import Route

BLOCK = ipaddress.IPv4Network("10.0.0.0/10")
#: the most routes the block holds (also rtmgr's default max_routes)
MAX_ROUTES = BLOCK.num_addresses
TABLE = 100
DEV = "dummy0"
_BASE = int(BLOCK.network_address)


def address(i: int) -> str:
    """The i-th destination address, as text."""
    return str(ipaddress.IPv4Address(_BASE + i))


def prefix_texts(n: int, first: int = 0) -> list[str]:
    return [f"{address(first + i)}/32" for i in range(n)]


def rtmgr_routes(n: int, oif: int, first: int = 0) -> list[Route]:
    return [
        Route(dst=ipaddress.IPv4Network((_BASE + first + i, 32)), table=TABLE, oif=oif)
        for i in range(n)
    ]


def write_ip_batch(path: Path, n: int, first: int = 0) -> Path:
    """A file for ``ip -batch``: one ``route add`` line per route."""
    with open(path, "w") as f:
        for text in prefix_texts(n, first):
            f.write(f"route add {text} dev {DEV} table {TABLE}\n")
    return path


def sample(n: int, k: int, seed: int = 1) -> list[int]:
    """k route indexes spread over the first n, the same in every run."""
    rng = random.Random(seed)
    return [rng.randrange(n) for _ in range(k)]
