"""Coverage-guided fuzzing of the parser and the decoder (tests/fuzz/):
build the libFuzzer harness with clang, ASan and UBSan, seed it with the
golden messages, run it for a bounded time (RTSHELL_FUZZ_SECONDS, 30 by
default) and fail on any crash, leak, sanitizer report or broken invariant."""

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "fuzz" / "run_fuzz.py"


def _runner():
    spec = importlib.util.spec_from_file_location("run_fuzz", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not shutil.which("clang"),
    reason="clang is not installed (apt-get install clang libclang-rt-14-dev); the fuzzer needs it",
)
def test_fuzz_parser_and_decoder(tmp_path):
    runner = _runner()
    seconds = int(os.environ.get("RTSHELL_FUZZ_SECONDS", "30"))
    exe = runner.build(tmp_path)
    result = runner.run(exe, tmp_path, seconds)
    crashes = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(p.name for p in tmp_path.glob("leak-*"))
    assert result.returncode == 0 and not crashes, (
        f"fuzzer failed (exit {result.returncode}, artifacts {crashes} in {tmp_path}):\n"
        + result.stdout[-6000:]
    )
    runs = re.search(r"stat::number_of_executed_units: (\d+)", result.stdout)
    assert runs and int(runs.group(1)) > 1000, result.stdout[-2000:]
