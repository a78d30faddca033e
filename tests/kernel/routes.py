"""Kernel tier: what the two clients' tests share (test_client.py, test_aio.py).

Their own tables (every test starts and ends with an empty table), the demo
gateways, generous waits for emulation, and a marker that skips them
outside the VM.
"""

from __future__ import annotations

import os
from ipaddress import ip_address, ip_network

import pytest

from rtshell.model import Route

TABLE = 4242
TABLE2 = 4243
TIMEOUT = 30.0  # seconds: emulated kernels are slow
GW = ip_address("10.99.0.2")
GW2 = ip_address("10.98.0.2")

needs_module = pytest.mark.skipif(
    not os.path.exists("/proc/net/netlink") or os.geteuid() != 0,
    reason="needs root and the rtmgr module (run through scripts/vm-run)",
)


def r4(i: int, table: int = TABLE, gw=GW, **kw) -> Route:
    """10.<i/256>.<i%256>.0/24 in ``table``."""
    return Route(dst=ip_network(f"10.{i // 256 % 256}.{i % 256}.0/24"), table=table, gateway=gw, **kw)


def r6(i: int, table: int = TABLE, **kw) -> Route:
    return Route(dst=ip_network(f"2001:db8:{i:x}::/48"), table=table,
                 gateway=ip_address("2001:db8:ffff::2"), **kw)
