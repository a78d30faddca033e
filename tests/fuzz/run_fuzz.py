#!/usr/bin/env python3
"""Build the libFuzzer harness (clang, ASan + UBSan) and run it for a while.

    tests/fuzz/run_fuzz.py [--seconds 30 | --runs N] [--workdir DIR]

The corpus starts from the golden messages of tests/host/golden/.  Exit
status is libFuzzer's: 0 when nothing broke; a crash leaves its input as
DIR/crash-* (reproduce with DIR/fuzz_parse DIR/crash-...).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = ROOT / "tests" / "host" / "golden"
SOURCES = ["rtm_attr.c", "rtm_build.c", "rtm_parse.c", "rtm_decode.c", "rtm_text.c"]


def build(workdir: Path, cc: str = "clang") -> Path:
    exe = workdir / "fuzz_parse"
    cmd = [
        cc, "-g", "-O1", "-fno-omit-frame-pointer",
        "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
        "-Wall", "-Wextra", "-Werror",
        "-I", str(ROOT / "bindings"), "-I", str(ROOT / "kernel" / "uapi"),
        str(HERE / "fuzz_parse.c"), *[str(ROOT / "bindings" / s) for s in SOURCES],
        "-o", str(exe),
    ]
    subprocess.run(cmd, check=True)
    return exe


#: batch-file text for rtm_text_routes (the harness's words: route/r, add/a/append/del/replace,
#: via, dev, table, metric, proto; devices lo and eth0; table main; protocol bgp)
TEXT_SEEDS = {
    "text_lines": b"route add 10.0.0.0/24 via 10.0.0.1\n# note\n\nr a 2001:db8::/32 dev eth0 table 100\n"
                  b"route del 10.1.2.3 metric 5 proto bgp\nroute add 10.0.0.1/24 dev lo\n",
    "text_keys": b"route replace 192.0.2.0/24 dev lo table main metric 4294967295 proto 255 via 192.0.2.9\n",
}


def seed(corpus: Path) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    n = 0
    for path in sorted(GOLDEN.glob("*.hex")):
        data = bytes.fromhex(re.sub(r"#.*", "", path.read_text()))
        (corpus / path.stem).write_bytes(data)
        n += 1
    for name, data in TEXT_SEEDS.items():
        (corpus / name).write_bytes(data)
        n += 1
    return n


def run(exe: Path, workdir: Path, seconds: int, runs: int = 0) -> subprocess.CompletedProcess:
    """libFuzzer for ``seconds``, or, with ``runs``, until it has tried that many inputs."""
    corpus = workdir / "corpus"
    seeds = workdir / "seeds"
    corpus.mkdir(exist_ok=True)
    seed(seeds)
    cmd = [
        str(exe), str(corpus), str(seeds),
        f"-runs={runs}" if runs else f"-max_total_time={seconds}", "-max_len=4096", "-timeout=10",
        "-rss_limit_mb=2048", "-print_final_stats=1",
        f"-artifact_prefix={workdir}/",
    ]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--runs", type=int, default=0, help="inputs to try (instead of --seconds)")
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    if not shutil.which("clang"):
        print("clang is not installed (apt-get install clang libclang-rt-14-dev)", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rtm-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    exe = build(workdir)
    result = run(exe, workdir, args.seconds, args.runs)
    sys.stdout.write(result.stdout)
    print(f"workdir: {workdir}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
