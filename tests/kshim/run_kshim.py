#!/usr/bin/env python3
"""Build kernel/table.c, kernel/trie.c, kernel/dump.c and kernel/device.c,
unmodified, in user space against the kernel shim of tests/kshim/include
(ASan + UBSan), and run the harness that checks them against a reference
model, one process per seed.

    tests/kshim/run_kshim.py [--seeds 16] [--first-seed 1] [--ops 20000]
                             [--workdir DIR] [--cc gcc|clang]

Exit status: 0 when every seed passed.  A failing seed prints what broke;
rerun it alone with DIR/kshim_harness SEED OPS.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOURCES = [
    ROOT / "kernel" / "table.c",
    ROOT / "kernel" / "trie.c",
    ROOT / "kernel" / "dump.c",
    ROOT / "kernel" / "device.c",
    HERE / "kshim.c",
    HERE / "harness.c",
]
# ASan's leak check runs at exit; any report fails the run
ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def compiler():
    """The C compiler to use: gcc, else clang, else None."""
    return next((cc for cc in ("gcc", "clang") if shutil.which(cc)), None)


def build(workdir: Path, cc: str = None) -> Path:
    exe = workdir / "kshim_harness"
    cmd = [
        cc or compiler(), "-std=gnu11", "-g", "-O1", "-fno-omit-frame-pointer",
        "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
        "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
        # the defines Kbuild gives every file of the module
        '-DKBUILD_MODNAME="rtmgr"', '-Dpr_fmt(fmt)=KBUILD_MODNAME ": " fmt',
        # the shim first: its linux/*.h stand in for the kernel's
        "-I", str(HERE / "include"), "-I", str(ROOT / "kernel"), "-I", str(HERE),
        *map(str, SOURCES),
        "-o", str(exe),
    ]
    subprocess.run(cmd, check=True)
    return exe


def run_seed(exe: Path, seed: int, ops: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(exe), str(seed), str(ops)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, **ENV},
    )


def run(exe: Path, seeds, ops: int, jobs: int = None) -> list:
    """(seed, CompletedProcess) for each seed, run jobs at a time (default: one per CPU)."""
    seeds = list(seeds)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        return list(zip(seeds, pool.map(lambda s: run_seed(exe, s, ops), seeds)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--cc", default=compiler())
    args = ap.parse_args()
    if not args.cc:
        print("no C compiler (apt-get install gcc)", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rtm-kshim-"))
    workdir.mkdir(parents=True, exist_ok=True)
    exe = build(workdir, args.cc)
    failed = 0
    for seed, result in run(exe, range(args.first_seed, args.first_seed + args.seeds), args.ops):
        sys.stdout.write(result.stdout)
        if result.returncode:
            failed += 1
            print(f"seed {seed}: exit {result.returncode}; rerun: {exe} {seed} {args.ops}")
    print(f"workdir: {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
