"""The protocol fuzzer: mutated requests of every type, every reply checked,
the table checked against the notifications at the end.

As root (:func:`run`): rounds of one to eight requests in one ``sendmsg``
(:mod:`stress.mutate`), replies checked as they come (:mod:`stress.replies`),
dumps now and then abandoned by close or by SIGKILL of the reading process;
at the end the notifications must replay to the table, and each must answer
a request that was taken (:mod:`stress.oracle`).

As uid 65534 (:func:`run_unprivileged`): the same attack must change nothing:
no change taken, no notification sent, the table as it was.

Coverage is told by the kernel's own words: each refusal's text is matched
against the extended-ACK messages written in ``kernel/*.c``, and the run
says which of them it reached.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import signal
import time
from pathlib import Path

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell.model import Filter, Route

from stress import Child, Tally
from stress import mutate, oracle
from stress.replies import CHANGES, Conversation

KERNEL = Path(__file__).resolve().parents[1] / "kernel"
DUMP_TABLE = 300  # filled so that a dump of it spans many datagrams (for the kills)
DUMP_FILL = 1000
NOBODY = 65534


# ---- which of the module's refusals were reached ------------------------------------------

_SITE = re.compile(r'NL_SET_ERR_MSG(?:_ATTR|_MOD|_FMT)?\s*\(\s*[^,]+,\s*(?:[^,"]+,\s*)?((?:"(?:[^"\\]|\\.)*"\s*)+)')


#: rtmgr_err_fmt(extack, attr, "plain text", "formatted %u text", ...) (kernel/compat.h):
#: the plain text where the kernel cannot format one, the formatted one where it can
_FMT_SITE = re.compile(r'rtmgr_err_fmt\s*\(\s*[^,]+,\s*[^,]+,\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*'
                       r'((?:"(?:[^"\\]|\\.)*"\s*)+)')


def _literal(source: str) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', source))


def _pattern(text: str) -> str:
    pattern = re.escape(text)
    for spec in ("%u", "%d", "%x", "%s", "%llu", "%zu"):
        pattern = pattern.replace(re.escape(spec), ".*")
    return pattern


def error_sites() -> dict[str, re.Pattern]:
    """Every extended-ACK message the module's source writes: text -> a pattern for it."""
    sites = {}
    for path in sorted(KERNEL.glob("*.c")):
        source = path.read_text()
        for m in _SITE.finditer(source):
            text = _literal(m.group(1))
            sites[text] = re.compile(_pattern(text) + "$")
        for m in _FMT_SITE.finditer(source):
            plain, fmt = _literal(m.group(1)), _literal(m.group(2))
            sites[plain] = re.compile(f"(?:{_pattern(plain)}|{_pattern(fmt)})$")
    return sites


def coverage(texts, tally: Tally) -> None:
    sites = error_sites()
    seen = {t for (_type, _errno, t) in texts}
    reached = {s for s, p in sites.items() if any(p.match(t) for t in seen)}
    tally.notes.append(f"refusals: {len(seen)} distinct texts; the module's own messages reached: "
                       f"{len(reached)} of {len(sites)}")
    tally.counts["module messages reached"] = len(reached)
    missed = sorted(set(sites) - reached)
    if missed:
        tally.notes.append("not reached: " + "; ".join(missed))


# ---- the attacks ---------------------------------------------------------------------------

def _fill_dump_table(pool: mutate.Pool) -> None:
    """Make sure table DUMP_TABLE holds DUMP_FILL routes (a fuzzed flush may have emptied it)."""
    from rtshell.client import Client

    with Client() as client:
        if sum(1 for _ in client.dump(Filter(table=DUMP_TABLE))) >= DUMP_FILL:
            return
        with client.batch(raise_on_error=False) as b:
            for i in range(DUMP_FILL):
                b.replace(Route(f"172.16.{i // 256}.{i % 256}/32", table=DUMP_TABLE, oif=pool.oifs[0]))


def _kill_mid_dump(tally: Tally) -> None:
    """A process that started a dump and read its first part is killed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            sock = nl.NetlinkSocket(rcvbuf=4096)
            sock.send(nl.build_dump(1, Filter(table=DUMP_TABLE)))
            sock.recv(60.0)
            os.write(w, b"1")
            time.sleep(120)
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    tally.counts["dumps abandoned by SIGKILL" if got else "dump children that read nothing"] += 1


def _two_dumps(conv: Conversation, tally: Tally) -> None:
    """Two dumps in one sendmsg: the second must be refused while the first runs."""
    dump = nl.build_dump(0, Filter(table=DUMP_TABLE))
    made = [mutate.Made("two dumps", mutate.with_seq(dump, seq), seq, False)
            for seq in (conv.next_seq(), conv.next_seq())]
    out = conv.round(made)
    tally.counts["two dumps in one sendmsg"] += 1
    if out is not None and out[made[1].seq].errno == errno.EBUSY:
        tally.counts["second dumps refused as busy"] += 1


def _rounds(conv: Conversation, tally: Tally, pool: mutate.Pool, rnd: random.Random, messages: int,
            outcomes: dict, lied: set, abandon: float, kill_every: int, on_round=None) -> None:
    made_so_far = 0
    rounds = 0
    while made_so_far < messages:
        n = min(rnd.choice((1, 1, 1, 1, 2, 2, 3, 8)), messages - made_so_far)
        made = [mutate.make(pool, rnd, conv.next_seq()) for _ in range(n)]
        made_so_far += n
        for m in made:
            tally.counts["valid" if m.kind.startswith("valid ") else "mutated"] += 1
        portid = conv.sock.portid
        seqs = conv.round(made, abandon=rnd.random() < abandon)
        rounds += 1
        if seqs is None:
            continue
        if any(m.lied for m in made):
            lied.update((portid, s) for s in seqs)
        for seq, out in seqs.items():
            outcomes[(portid, seq)] = out
            tally.counts["refused" if out.errno else "acknowledged" if out.errno == 0 else "silent"] += 1
        if kill_every and rounds % kill_every == 0:
            _fill_dump_table(pool)
            _kill_mid_dump(tally)
            _two_dumps(conv, tally)
        if on_round is not None:
            on_round(made_so_far)
    tally.inputs += made_so_far
    tally.requests += rounds


def run(seed: int, messages: int, *, abandon: float = 0.01, kill_every: int = 500,
        progress=None) -> Tally:
    """The fuzzer as root, ``messages`` requests; the table is flushed first."""
    tally = Tally("fuzz as root", seed)
    started = time.monotonic()
    pool = mutate.Pool.here()
    rnd = random.Random(seed)
    oracle.flush_all()
    conv = Conversation(tally)
    listener = oracle.Listener()
    outcomes: dict = {}
    lied: set = set()
    try:
        _rounds(conv, tally, pool, rnd, messages, outcomes, lied, abandon,
                kill_every if kill_every else 0, progress)
    finally:
        conv.close()
    notes = listener.stop()
    if listener.overruns:
        tally.fail(f"the oracle's listener overran {listener.overruns} times: the replay is not complete")
    else:
        oracle.check_requesters(notes, outcomes, conv.portids, tally, lied)
        oracle.compare(oracle.replay(notes, tally), oracle.dump_table(), tally, "after the fuzz as root")
    tally.notes.append(f"{len(notes):,} notifications")
    coverage(conv.texts, tally)
    tally.seconds = time.monotonic() - started
    return tally


def _as_nobody_rounds(seed: int, messages: int) -> str:
    """In the unprivileged child: the rounds; no change may be taken."""
    tally = Tally("fuzz as uid 65534", seed)
    rnd = random.Random(seed)
    conv = Conversation(tally, first_seq=2_000_000)
    outcomes: dict = {}
    _rounds(conv, tally, mutate.Pool.here(), rnd, messages, outcomes, set(), abandon=0.01, kill_every=0)
    conv.close()
    for (pid, seq), out in outcomes.items():
        asked = out.flags is not None and out.flags & P.NLM_F_REQUEST  # else netlink acks it unseen
        if out.request_type in CHANGES and out.errno == 0 and asked:
            tally.fail(f"an unprivileged change was acknowledged (type {out.request_type}, seq {seq})")
        if out.flush_count is not None:
            tally.fail(f"an unprivileged flush was answered with a count ({out.flush_count})")
    return json.dumps({"inputs": tally.inputs, "requests": tally.requests, "counts": dict(tally.counts),
                       "failures": tally.failures, "texts": [list(k) + [n] for k, n in conv.texts.items()]})


def run_unprivileged(seed: int, messages: int) -> Tally:
    """The fuzzer as uid 65534: nothing may change, nothing may be notified."""
    tally = Tally("fuzz as uid 65534", seed)
    started = time.monotonic()
    before = oracle.dump_table()
    listener = oracle.Listener()
    text = Child(_as_nobody_rounds, seed, messages, uid=NOBODY).result()
    notes = listener.stop()
    if text is None:
        tally.fail("the unprivileged child failed")
        return tally
    result = json.loads(text)
    tally.inputs, tally.requests = result["inputs"], result["requests"]
    tally.counts.update({k: n for k, n in result["counts"].items() if k != "failures"})
    for f in result["failures"]:
        tally.fail(f)
    if notes:
        tally.fail(f"{len(notes)} notifications while only an unprivileged user spoke, the first: {notes[0]}")
    oracle.compare(before, oracle.dump_table(), tally, "after the fuzz as uid 65534")
    texts = {tuple(t[:3]): t[3] for t in result["texts"]}
    coverage(texts, tally)
    tally.seconds = time.monotonic() - started
    return tally

