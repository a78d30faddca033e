"""``python -m stress``: the attacks, inside the VM with the module loaded
(``make stress``; a seeded slice of each runs in ``make test``).

Prints what each attack tried and found, one table at the end (inputs,
requests, failures, kernel warnings, seeds), and exits 1 when anything
failed.  ``--seed`` repeats a run exactly (the writers' interleaving aside).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from stress import Tally, faults, fuzz, lifetime, overrun, writers

KERNEL_TROUBLE = re.compile(r"WARNING:|BUG:|Oops|Call Trace|KASAN|UBSAN|kmemleak|refcount_t|"
                            r"general protection|possible circular locking|suspicious RCU")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m stress", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=None, help="the run's seed (default: from the clock)")
    p.add_argument("--fuzz", type=int, default=200_000, help="fuzzed messages as root (%(default)s)")
    p.add_argument("--nobody", type=int, default=20_000, help="fuzzed messages as uid 65534 (%(default)s)")
    p.add_argument("--writers", type=int, default=8, help="concurrent writer processes (%(default)s)")
    p.add_argument("--requests", type=int, default=10_000, help="requests per writer (%(default)s)")
    p.add_argument("--overrun", type=int, default=200_000,
                   help="routes added past a paused subscriber (%(default)s; a fifth more are changed)")
    p.add_argument("--fault-rounds", type=int, default=20,
                   help="rounds of failing every allocation of every path in turn (%(default)s)")
    p.add_argument("--cycles", type=int, default=50, help="load / fill / unload cycles (%(default)s; last, "
                   "as they unload the module)")
    p.add_argument("--cycle-routes", type=int, default=10_000, help="routes per namespace per cycle (%(default)s)")
    p.add_argument("--big", type=int, default=100_000, help="routes of the namespace destroyed whole (%(default)s)")
    return p.parse_args(argv)


def kernel_warnings() -> list[str]:
    try:
        log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return [f"dmesg could not be read: {exc}"]
    return [line for line in log.splitlines() if KERNEL_TROUBLE.search(line)]


def progress(name: str, total: int):
    step = max(1, total // 10)
    started = time.monotonic()
    last = [0]

    def tell(done: int) -> None:
        if done - last[0] >= step or done == total:
            last[0] = done
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"  {name}: {done:,}/{total:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return tell


def report(tallies: list[Tally], warnings: list[str]) -> str:
    lines = [f"{'attack':<22} {'seed':>12} {'inputs':>10} {'requests':>10} {'failures':>9} {'seconds':>8}"]
    for t in tallies:
        lines.append(f"{t.name:<22} {t.seed:>12} {t.inputs:>10,} {t.requests:>10,} {t.failed:>9,} {t.seconds:>8.1f}")
    lines.append(f"{'kernel warnings':<22} {'':>12} {'':>10} {'':>10} {len(warnings):>9,}")
    for t in tallies:
        outcomes = ", ".join(f"{k} {n:,}" for k, n in sorted(t.counts.items()) if k != "failures")
        lines.append(f"\n{t.name} (seed {t.seed}): {outcomes}")
        lines.extend(f"  {n}" for n in t.notes)
        lines.extend(f"  FAILED: {f}" for f in t.failures)
    lines.extend(f"  kernel: {w}" for w in warnings[:20])
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    print(f"stress: seed {seed}", flush=True)
    tallies = []
    if args.fuzz:
        tallies.append(fuzz.run(seed, args.fuzz, progress=progress("fuzz as root", args.fuzz)))
    if args.nobody:
        tallies.append(fuzz.run_unprivileged(seed + 1, args.nobody))
    if args.writers and args.requests:
        tallies.append(writers.run(seed + 2, args.writers, args.requests))
    if args.overrun:
        tallies.append(overrun.run(seed + 3, args.overrun))
    if args.fault_rounds:
        tallies.append(faults.run(seed + 5, args.fault_rounds))
    if args.cycles:
        tallies.append(lifetime.run(seed + 4, args.cycles, args.cycle_routes, args.big))
    warnings = kernel_warnings()
    print(report(tallies, warnings), flush=True)
    return 1 if warnings or any(t.failed for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
