"""The attacks' own logic (stress/), without a kernel: the oracle must catch
what it is there to catch, and the mutator must take apart and put back
exactly what the builders make.  The attacks themselves run in the VM
(tests/kernel/test_stress.py, make stress)."""

import random

import pytest

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, Route
from stress import Tally, fuzz, mutate, oracle
from stress.replies import Outcome

R1 = Route("10.0.0.0/24", oif=2)
R2 = Route("10.0.1.0/24", oif=2, table=100)
R3 = Route("10.0.1.0/24", oif=3, table=100)


def note(kind, route=None, pid=7, seq=1, msg_type=P.RTMGR_MSG_NEWROUTE, **kw):
    return nl.Message(type=msg_type, flags=0, seq=seq, pid=pid, kind=kind, route=route, **kw)


def new(route, seq=1, pid=7):
    return note("route", route, pid, seq)


def dele(route, seq=1, pid=7):
    return note("route", route, pid, seq, P.RTMGR_MSG_DELROUTE)


def flush(flt, count, seq=1, pid=7):
    return note("flush", None, pid, seq, P.RTMGR_MSG_FLUSH, filter=flt, count=count)


def test_replay_applies_changes_deletions_and_flushes_in_order():
    t = Tally("t", 0)
    table = oracle.replay([new(R1), new(R2), new(R3), flush(Filter(table=100), 1), new(R2, 5), dele(R1)], t)
    assert t.failed == 0
    assert table == {R2.key: R2}


@pytest.mark.parametrize("notes, says", [
    ([dele(R1)], "which no notification had added"),
    ([new(R1), new(R2), flush(Filter(table=100), 2)], "matches 1 routes"),
    ([note("lookup")], "kind lookup"),
])
def test_replay_catches_notifications_that_do_not_add_up(notes, says):
    t = Tally("t", 0)
    oracle.replay(notes, t)
    assert t.failed == 1 and says in t.failures[0]


def test_compare_names_what_is_missing_extra_and_different():
    t = Tally("t", 0)
    oracle.compare({R1.key: R1, R2.key: R2}, {R1.key: R1, R3.key: R3}, t, "x")
    assert t.failed == 1 and "holds" in t.failures[0]
    t = Tally("t", 0)
    oracle.compare({R1.key: R1}, {R2.key: R2}, t, "x")
    assert t.failed == 2
    t = Tally("t", 0)
    oracle.compare({R1.key: R1}, {R1.key: Route("10.0.0.0/24", oif=2, created=5)}, t, "x")
    assert t.failed == 0  # timestamps are not what a route says


def test_each_acknowledged_change_needs_exactly_one_notification_and_a_refused_one_none():
    req = P.NLM_F_REQUEST | P.NLM_F_ACK
    taken = Outcome(errno=0, request_type=P.RTMGR_MSG_NEWROUTE, flags=req)
    refused = Outcome(errno=17, text="route exists", request_type=P.RTMGR_MSG_NEWROUTE, flags=req)
    read = Outcome(errno=0, request_type=P.RTMGR_MSG_GETROUTE, flags=req)
    emptied = Outcome(errno=0, request_type=P.RTMGR_MSG_FLUSH, flush_count=0, flags=req)
    not_a_request = Outcome(errno=0, request_type=P.RTMGR_MSG_NEWROUTE, flags=P.NLM_F_ACK)
    lied = Outcome(errno=0, request_type=P.RTMGR_MSG_NEWROUTE, flags=None)
    outcomes = {(7, 1): taken, (7, 2): refused, (7, 3): read, (7, 4): emptied, (7, 5): not_a_request,
                (7, 6): lied}

    def failures(notes):
        t = Tally("t", 0)
        oracle.check_requesters(notes, outcomes, {7}, t, set())
        return t.failures

    assert failures([new(R1, 1)]) == []
    assert "notified 0 times, not 1" in failures([])[0]
    assert "notified 2 times" in failures([new(R1, 1), new(R1, 1)])[0]
    assert "was refused" in failures([new(R1, 1), new(R1, 2)])[0]
    assert "not 0" in failures([new(R1, 1), new(R1, 3)])[0]
    assert "not 0" in failures([new(R1, 1), flush(None, 0, 4)])[0]
    assert "no request of ours" in failures([new(R1, 1), new(R1, 9)])[0]
    assert "not 0" in failures([new(R1, 1), new(R1, 5)])[0]  # netlink acknowledged it, rtmgr never saw it
    assert failures([new(R1, 1), new(R1, 6)]) == []  # after a lie, one notification or none may be right
    assert failures([new(R1, 1), new(R1, 9, pid=8)]) == []  # another process's


@pytest.mark.parametrize("kind", sorted(mutate.SEEDS))
def test_a_request_taken_apart_and_put_back_is_the_same_bytes(kind):
    pool = mutate.Pool(oifs=(2, 3))
    rnd = random.Random(kind)
    for _ in range(50):
        data = mutate.SEEDS[kind][1](pool, rnd)
        assert mutate.Request.of(data).encode(0) == data


def test_mutations_keep_every_request_a_netlink_message_of_its_stated_length_unless_they_lie():
    pool = mutate.Pool(oifs=(2, 3))
    rnd = random.Random(3)
    kinds = set()
    for seq in range(3000):
        m = mutate.make(pool, rnd, seq)
        kinds.add(m.kind)
        if not m.lied:
            assert int.from_bytes(m.data[:4], "little") == len(m.data)
            assert int.from_bytes(m.data[8:12], "little") == seq
    assert {k for k in kinds if not k.startswith("valid ")} == set(mutate.SEEDS)


def test_the_modules_refusal_texts_are_found_in_its_source():
    sites = fuzz.error_sites()
    assert len(sites) >= 45
    assert sites["route exists"].match("route exists")
    assert sites["no such device in this network namespace"].match(
        "no device with index 9 in this network namespace")
    t = Tally("t", 0)
    fuzz.coverage({("NEWROUTE", 17, "route exists"): 1}, t)
    assert t.counts["module messages reached"] == 1
