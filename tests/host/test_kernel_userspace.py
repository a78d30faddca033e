"""The module's tables, dumps and device purge in user space (tests/kshim/):
kernel/table.c, kernel/trie.c, kernel/dump.c and kernel/device.c compiled
unmodified against a small kernel shim with ASan and UBSan, driven by random
operations (routes keyed by prefix and metric) with allocation failures
injected and checked against a reference model after every one.
RTSHELL_KSHIM_SEEDS (16) seeds of RTSHELL_KSHIM_OPS (20000) operations each."""

import importlib.util
import os
import re
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "kshim" / "run_kshim.py"
SEEDS = int(os.environ.get("RTSHELL_KSHIM_SEEDS", "16"))
OPS = int(os.environ.get("RTSHELL_KSHIM_OPS", "20000"))


def _runner():
    spec = importlib.util.spec_from_file_location("run_kshim", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _runner()


@pytest.mark.skipif(not runner.compiler(), reason="no C compiler (apt-get install gcc)")
def test_table_and_dump_agree_with_the_model(tmp_path):
    exe = runner.build(tmp_path)
    results = runner.run(exe, range(1, SEEDS + 1), OPS)
    failures = [
        f"seed {seed} (exit {r.returncode}; rerun: {exe} {seed} {OPS}):\n{r.stdout[-4000:]}"
        for seed, r in results if r.returncode
    ]
    assert not failures, "\n".join(failures)

    injected, hook_writers = {}, 0
    for seed, r in results:
        m = re.search(r"kshim: seed (\d+): (\d+) ops, (\d+) checks", r.stdout)
        assert m and int(m.group(1)) == seed and int(m.group(2)) == OPS, r.stdout
        assert int(m.group(3)) > 100 * OPS, r.stdout  # the model was consulted
        assert re.search(r"dumps \([1-9]\d* routes over [1-9]\d* skbs", r.stdout), r.stdout
        hook_writers += int(re.search(r"cond_resched \((\d+) with writers\)", r.stdout).group(1))
        for site, n in re.findall(r" (\w+)=(\d+)/\d+", r.stdout):
            injected[site] = injected.get(site, 0) + int(n)
    # every allocation site failed somewhere, and writers ran inside long dumps
    assert set(injected) == {"kmalloc", "kmem_cache_alloc", "xa_store", "kmem_cache_create"}
    assert all(injected.values()), injected
    if SEEDS >= 8:
        assert hook_writers, "no dump ever yielded to a writer in cond_resched()"
