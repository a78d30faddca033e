"""Concurrency against the model: many processes change overlapping keys at once.

Each writer is a process with its own socket, sending valid requests one at
a time (adds, replaces, changes, appends, deletes, flushes, with gets,
lookups, dumps and stats between) on keys drawn from one small pool, so that
they collide all the time.  Every reply is checked as the fuzzer checks it.

At the end, from every writer's record of what the kernel answered and every
notification a listener kept: each acknowledged change has exactly one
notification carrying its pid and seq, a refused one none, and the
notifications replayed in order give the final dump exactly.
"""

from __future__ import annotations

import json
import random
import time

from stress import Child, Tally
from stress import mutate, oracle
from stress.replies import Conversation, Outcome


def _writer(seed: int, requests: int) -> str:
    """In a child: the requests; its record of the answers."""
    tally = Tally("writer", seed)
    rnd = random.Random(seed)
    pool = mutate.Pool.here()
    conv = Conversation(tally, first_seq=1)
    record = []
    for _ in range(requests):
        made = mutate.valid(pool, rnd, conv.next_seq())
        portid = conv.sock.portid
        outcomes = conv.round([made])
        if outcomes is None:
            continue
        out = outcomes[made.seq]
        record.append([portid, made.seq, out.errno, out.text, out.request_type, out.flush_count, out.flags])
    conv.close()
    return json.dumps({"record": record, "failures": tally.failures, "counts": dict(tally.counts),
                       "texts": [list(k) + [n] for k, n in conv.texts.items()]})


def run(seed: int, writers: int, requests: int) -> Tally:
    """``writers`` processes of ``requests`` requests each, from an empty table."""
    tally = Tally(f"{writers} writers", seed)
    started = time.monotonic()
    oracle.flush_all()
    listener = oracle.Listener()
    children = [Child(_writer, seed * 1000 + i, requests) for i in range(writers)]
    outcomes: dict = {}
    ports = set()
    for child in children:
        text = child.result()
        if text is None:
            tally.fail(f"writer {child.pid} failed")
            continue
        result = json.loads(text)
        for f in result["failures"]:
            tally.fail(f"writer {child.pid}: {f}")
        for portid, seq, errno_, text_, request_type, flush_count, flags in result["record"]:
            ports.add(portid)
            outcomes[(portid, seq)] = Outcome(errno=errno_, text=text_, request_type=request_type,
                                              flush_count=flush_count, flags=flags)
            tally.counts["refused" if errno_ else "acknowledged" if errno_ == 0 else "silent"] += 1
        tally.inputs += len(result["record"])
        tally.requests += len(result["record"])
    notes = listener.stop()
    if listener.overruns:
        tally.fail(f"the oracle's listener overran {listener.overruns} times: the replay is not complete")
    else:
        oracle.check_requesters(notes, outcomes, ports, tally, set())
        oracle.compare(oracle.replay(notes, tally), oracle.dump_table(), tally, "after the writers")
    tally.notes.append(f"{len(notes):,} notifications for {tally.counts['acknowledged']:,} "
                       f"acknowledged and {tally.counts['refused']:,} refused requests")
    tally.seconds = time.monotonic() - started
    return tally
