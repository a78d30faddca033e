"""The real `rtshell` command over the fake client, for tests that run the
shell in a pty as a user would (the kernel tier runs it against rtmgr).

    python fake_shell.py [--routes N] [--nonblock] -- [rtshell arguments]

--routes N   the fake table starts with N routes (10.x.y.0/24 dev dummy0)
--nonblock   set O_NONBLOCK on the terminal first, as QEMU leaves the VM's
             console (stdin, stdout and stderr share one open file description)
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakes import FakeClient, fake_devices, route  # noqa: E402


def table(n: int):
    return [route(f"10.{i // 256 % 256}.{i % 256}.0/24", oif=2, metric=i // 65536) for i in range(n)]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--routes", type=int, default=0)
    p.add_argument("--nonblock", action="store_true")
    p.add_argument("args", nargs="*")
    opts = p.parse_args()
    if opts.nonblock:
        os.set_blocking(0, False)
    client = FakeClient(table(opts.routes))
    from rtshell.cli import run as rtshell

    return rtshell(opts.args, client_factory=lambda: client, devices=fake_devices())


if __name__ == "__main__":
    sys.exit(main())
