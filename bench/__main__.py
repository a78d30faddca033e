"""``python -m bench``: the side-by-side benchmarks, inside the VM (``make bench``).

Prints the table and writes build/vm/bench-<kernel>.json and .txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench import routes

TOP = Path(__file__).resolve().parents[1]
DEFAULT_N = 100_000
DEFAULT_PEER_N = 2_000
DEFAULT_CLI_N = 20_000  # route show > file: ~1.3 ms a route under emulation (issue 14)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--routes", "-n", type=int, default=_env_int("RTSHELL_BENCH_N", DEFAULT_N),
                   help="N: routes per fill (default: $RTSHELL_BENCH_N or %(default)s)")
    p.add_argument("--pyroute2-routes", type=int, default=None,
                   help="routes pyroute2's per-request paths are measured on "
                        f"(default: $RTSHELL_BENCH_PYROUTE2_N or min(N, {DEFAULT_PEER_N}))")
    p.add_argument("--cli-routes", type=int, default=None,
                   help="routes the command lines (rtshell -b, ip -batch, route show > file) are "
                        f"measured on (default: $RTSHELL_BENCH_CLI_N or min(N, {DEFAULT_CLI_N}))")
    p.add_argument("--budget", type=float, default=30.0,
                   help="seconds of repeated runs per contender before fewer repeats are made "
                        "(default %(default)s)")
    p.add_argument("--samples", type=int, default=200,
                   help="round trips timed per contender (ip route get: a tenth) (default %(default)s)")
    p.add_argument("--output", type=Path, default=TOP / "build" / "vm",
                   help="directory for bench-<kernel>.json/.txt (default %(default)s)")
    args = p.parse_args(argv)
    if args.pyroute2_routes is None:
        args.pyroute2_routes = min(args.routes, _env_int("RTSHELL_BENCH_PYROUTE2_N", DEFAULT_PEER_N))
    if args.cli_routes is None:
        args.cli_routes = min(args.routes, _env_int("RTSHELL_BENCH_CLI_N", DEFAULT_CLI_N))
    for name in ("routes", "pyroute2_routes", "cli_routes"):
        value = getattr(args, name)
        if not 1 <= value <= routes.MAX_ROUTES:
            p.error(f"--{name.replace('_', '-')} {value}: 1 .. {routes.MAX_ROUTES}")
    args.pyroute2_routes = min(args.pyroute2_routes, args.routes)
    return args


def preflight() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("run as root")
    if not os.path.exists("/sys/module/rtmgr"):
        problems.append("the rtmgr module is not loaded")
    if not os.path.exists(f"/sys/class/net/{routes.DEV}"):
        problems.append(f"no {routes.DEV} device")
    if problems:
        sys.exit("bench: " + "; ".join(problems) + ": run it in the VM with `make bench` "
                 "(scripts/vm-run -- .venv/bin/python -m bench)")


def main(argv=None) -> int:
    args = parse_args(argv)
    preflight()
    from bench import report
    from bench.peers import Ip, Pyroute2
    from bench.suite import Suite

    kernel = platform.release()
    started = time.time()
    suite = Suite(args.routes, args.pyroute2_routes, args.budget, args.samples, args.cli_routes)
    sections = suite.run()
    duration = time.time() - started
    header = [
        f"rtshell benchmarks -- kernel {kernel}, N = {args.routes:,} routes, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(started))}",
        f"peers: {Ip.version()}; pyroute2 {Pyroute2.version()}; Python {platform.python_version()}",
        "All figures come from this one boot; under qemu emulation only the ratios mean much.",
        "Last column: how many times better rtshell's figure is than the peer's (>1: rtshell better).",
        f"Run took {duration:.0f} s.",
    ]
    text = report.render(header, sections)
    print(text)
    meta = {
        "kernel": kernel,
        "routes": args.routes,
        "pyroute2_routes": args.pyroute2_routes,
        "cli_routes": args.cli_routes,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_seconds": duration,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "iproute2": Ip.version(),
        "pyroute2": Pyroute2.version(),
        "ratio": "how many times better rtshell's figure is than the peer's (>1: rtshell better)",
        "failures": suite.failures,
    }
    json_path, text_path = report.write(args.output, f"bench-{kernel}", meta, sections, text)
    print(f"wrote {json_path} and {text_path}")
    if suite.failures:
        print("bench: some benchmarks failed:\n  " + "\n  ".join(suite.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
