"""A seeded slice of ``make stress`` (stress/): the attacks at a size every
``make test`` can afford.  RTSHELL_STRESS_SEED repeats another run's seed."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from stress import __main__ as main  # noqa: E402
from stress import faults, fuzz, overrun, writers  # noqa: E402

SEED = int(os.environ.get("RTSHELL_STRESS_SEED", "20261207"))


def told(tally) -> str:
    return main.report([tally], [])


def test_fuzz_as_root_checks_every_reply_and_the_table(dummy0):
    t = fuzz.run(SEED, 20_000, kill_every=1600)
    print(told(t))
    assert t.failed == 0, told(t)
    assert t.inputs == 20_000
    # the attack reached both sides of the parser, and most of the module's refusals
    assert t.counts["acknowledged"] > 1_000 and t.counts["refused"] > 5_000, told(t)
    assert t.counts["module messages reached"] >= 35, told(t)
    assert t.counts["dumps abandoned by SIGKILL"] >= 4, told(t)
    assert t.counts["second dumps refused as busy"] == t.counts["two dumps in one sendmsg"] >= 4, told(t)


def test_fuzz_as_nobody_changes_nothing(dummy0):
    t = fuzz.run_unprivileged(SEED + 1, 3_000)
    print(told(t))
    assert t.failed == 0, told(t)
    assert t.counts["refused"] > 500, told(t)


@pytest.mark.parametrize("n_writers, requests", [(4, 1_000)])
def test_writers_on_overlapping_keys_match_their_notifications(dummy0, n_writers, requests):
    t = writers.run(SEED + 2, n_writers, requests)
    print(told(t))
    assert t.failed == 0, told(t)
    assert t.requests == n_writers * requests
    assert t.counts["acknowledged"] > 1_000 and t.counts["refused"] > 200, told(t)


def test_a_paused_subscriber_is_resynced_to_the_table(dummy0):
    t = overrun.run(SEED + 3, 20_000)
    print(told(t))
    assert t.failed == 0, told(t)
    assert t.counts["resyncs"] >= 1


def test_every_allocation_of_every_path_can_fail_cleanly(dummy0):
    t = faults.run(SEED + 5, rounds=1)
    print(told(t))
    assert t.failed == 0, told(t)
    assert t.counts["paths"] == len(faults.PATHS)
    assert t.counts["refused with ENOMEM"] >= 30 and t.counts["notifications lost, listener told ENOBUFS"] >= 10
