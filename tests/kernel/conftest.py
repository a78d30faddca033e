"""Kernel tier: runs inside the VM (scripts/vm-run) against the loaded module.

Every test starts and ends with an empty table in this namespace, and the
module parameter max_routes at its default.
"""

import os
import socket

import pytest

from wire import Wire

MAX_ROUTES = "/sys/module/rtmgr/parameters/max_routes"


def pytest_configure(config):
    if not os.path.exists("/sys/module/rtmgr"):
        raise pytest.UsageError(
            "the kernel tier runs in the VM with rtmgr loaded: use `make test` (or scripts/vm-run)"
        )


@pytest.fixture(scope="session")
def default_max_routes():
    with open(MAX_ROUTES) as f:
        return f.read().strip()


def flush_all():
    w = Wire()
    w.flush()
    w.close()


@pytest.fixture(autouse=True)
def clean_table(default_max_routes):
    # no socket stays open during the test: the lifecycle tests unload the module
    flush_all()
    yield
    if os.path.exists(MAX_ROUTES):
        with open(MAX_ROUTES, "w") as f:
            f.write(default_max_routes)
        flush_all()


@pytest.fixture
def wire():
    w = Wire()
    yield w
    w.close()


@pytest.fixture(scope="session")
def dummy0():
    return socket.if_nametoindex("dummy0")


@pytest.fixture(scope="session")
def dummy1():
    return socket.if_nametoindex("dummy1")
