"""Rounds of requests on one socket, and the checks every reply must pass.

A round is one ``sendmsg`` of one or more requests, then a sentinel (a
GETSTATS with an ACK) in a second ``sendmsg``.  The kernel answers in
order, so everything before the sentinel's ACK answers the round; a dump the
round started is read to its DONE.  A request that is taken and asks for no
ACK is answered by silence, which the sentinel makes visible.

Every reply must parse, answer a request of the round, and, when it refuses,
carry an errno and the kernel's text (extended ACK).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Optional

from rtshell import errors
from rtshell import netlink as nl
from rtshell import protocol as P

from stress import Tally
from stress.mutate import Made

SENTINEL_TIMEOUT = 60.0  # seconds without the sentinel's answer: the kernel is stuck


@dataclass
class Outcome:
    """How the kernel answered one request of a round."""

    errno: Optional[int] = None  # None: no ACK or error came (taken silently, or not read as a request)
    text: Optional[str] = None
    request_type: Optional[int] = None  # as the ACK or error echoes it
    data: int = 0  # data messages (routes, lookups, stats, flush counts) answering it
    flush_count: Optional[int] = None
    flags: Optional[int] = None  # nlmsg_flags as sent (None: the round lied, the kernel may have read others)


class Conversation:
    """One socket to the module, talked to in rounds; replies checked into a Tally."""

    def __init__(self, tally: Tally, first_seq: int = 1_000_000):
        self.tally = tally
        self.seq = first_seq
        self.sock = nl.NetlinkSocket()
        self.portids = {self.sock.portid}
        self.texts: collections.Counter = collections.Counter()  # (type, errno, text) of refusals

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def reopen(self) -> None:
        self.sock.close()
        self.sock = nl.NetlinkSocket()
        self.portids.add(self.sock.portid)

    def close(self) -> None:
        self.sock.close()

    def round(self, made: list[Made], abandon: bool = False) -> Optional[dict[int, Outcome]]:
        """Send the requests in one buffer; their outcomes by seq (None if
        the socket had to be given up).  ``abandon``: close the socket
        instead of reading a dump the round started to its end."""
        portid = self.sock.portid
        lied = any(m.lied for m in made)
        seqs = {m.seq: Outcome(flags=None if lied else int.from_bytes(m.data[6:8], "little")) for m in made}
        try:
            self.sock.send(b"".join(m.data for m in made))
        except errors.RtmgrError as exc:
            self.tally.counts[f"send refused: {exc.errno_name}"] += 1
            return seqs
        sentinel = self.next_seq()
        self.sock.send(nl.build_stats(sentinel, ack=True))
        open_dumps: set[int] = set()
        answered = False
        while not answered or open_dumps:
            if answered and abandon:
                self.tally.counts["dumps abandoned by close"] += 1
                self.reopen()
                return seqs
            try:
                data = self.sock.recv(SENTINEL_TIMEOUT)
            except errors.Overrun:
                self.tally.fail(f"port {portid}: its own replies overran the socket")
                self.reopen()
                return None
            if data is None:
                self.tally.fail(f"port {portid}: no answer within {SENTINEL_TIMEOUT:.0f} s "
                                f"to {[m.kind for m in made]} ({[m.data.hex() for m in made]})")
                self.reopen()
                return None
            for msg in nl.parse(data):
                if msg.seq == sentinel:
                    if msg.kind == "ack":
                        answered = True
                    elif msg.kind != "stats":
                        self.tally.fail(f"the sentinel stats request got {msg.kind} {msg.error}")
                    continue
                self._check(msg, seqs, lied, open_dumps, made)
        return seqs

    def _check(self, msg: nl.Message, seqs: dict[int, Outcome], lied: bool, open_dumps: set[int],
               made: list[Made]) -> None:
        t = self.tally
        if msg.kind == "malformed":
            t.fail(f"a reply that does not parse ({msg.reason}) to {[m.kind for m in made]}")
            return
        out = seqs.get(msg.seq)
        if out is None:
            if lied:  # the kernel read a message where a lie put one: its seq is any bytes
                t.counts["replies to messages a lie made"] += 1
                out = seqs.setdefault(msg.seq, Outcome())
            else:
                t.fail(f"a {msg.kind} reply with seq {msg.seq}, which no request of the round had")
                return
        if msg.multi:
            open_dumps.add(msg.seq)
        if msg.kind == "done":
            open_dumps.discard(msg.seq)
            if msg.error:
                self._refusal(msg, out)
            return
        if msg.kind in ("ack", "error"):
            if msg.request_seq != msg.seq:
                t.fail(f"an {msg.kind} with seq {msg.seq} echoes a request with seq {msg.request_seq}")
            if out.errno is not None:
                t.fail(f"request seq {msg.seq} answered twice: errno {out.errno}, then {msg.error}")
            out.request_type = msg.request_type
            if msg.kind == "ack":
                out.errno = 0
            else:
                self._refusal(msg, out)
            return
        out.data += 1
        if msg.kind == "flush":
            out.flush_count = msg.count

    def _refusal(self, msg: nl.Message, out: Outcome) -> None:
        out.errno, out.text = msg.error, msg.ext_ack
        key = (nl.type_name(msg.request_type) if msg.request_type else "dump", msg.error, msg.ext_ack or "")
        self.texts[key] += 1
        if not msg.ext_ack:
            self.tally.fail(f"refused with errno {msg.error} and no text "
                            f"(request type {msg.request_type}, seq {msg.seq})")


CHANGES = frozenset((P.RTMGR_MSG_NEWROUTE, P.RTMGR_MSG_DELROUTE, P.RTMGR_MSG_FLUSH))
