"""The VM benchmarks: rtshell + rtmgr next to ip and pyroute2 + the kernel FIB.

One :class:`Suite` runs every benchmark in one boot, in an order that lets
the kernel-memory figures come from the first fills (both tables are full
at once, so neither fill reuses slab pages the other freed) and the dumps
and round trips run against full tables.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rtshell import netlink as nl
from rtshell.client import Client
from rtshell.model import Filter

from bench import memory, routes
from bench.notify import Subscriber
from bench.peers import Ip, Pyroute2
from bench.report import Row, Section
from bench.timing import latencies, median, percentile, repeat, timed

#: seconds any single client request may wait (a flush of N routes is one request)
CLIENT_TIMEOUT = 300.0
#: routes of the warm-up round of rtshell and ip, and of pyroute2 (slower)
WARMUP_ROUTES = 200
WARMUP_PEER_ROUTES = 50


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Suite:
    """Runs the benchmarks; ``sections`` holds the results."""

    def __init__(self, n: int, peer_n: int, budget: float, samples: int, cli_n: int = 0):
        self.n = n
        self.peer_n = peer_n  # routes pyroute2's per-request paths are measured on
        self.cli_n = cli_n or n  # routes the command lines (rtshell -b, ip -batch) are measured on
        self.budget = budget  # seconds of repeated runs per contender
        self.samples = samples  # round trips per contender (fewer for exec)
        self.oif = socket.if_nametoindex(routes.DEV)
        self.filter = Filter(table=routes.TABLE)
        self.tmp = Path(tempfile.mkdtemp(prefix="rtshell-bench-"))
        log(f"preparing {n:,} routes")
        self.routes = routes.rtmgr_routes(n, self.oif)
        self.batch_file = routes.write_ip_batch(self.tmp / "routes.batch", n)
        self.peer_prefixes = routes.prefix_texts(peer_n)
        self.client = Client(timeout=CLIENT_TIMEOUT)
        self.py = Pyroute2(self.oif)
        self.sections: list[Section] = []
        self.failures: list[str] = []  # benchmarks that could not finish
        # seconds of each timed fill and flush, first runs in fill_both / flushes
        self.rt_insert_runs: list[float] = []
        self.ip_insert_runs: list[float] = []
        self.rt_flush_runs: list[float] = []
        self.ip_flush_runs: list[float] = []

    # ---- the rtshell side ------------------------------------------------

    def rt_insert(self, rts) -> None:
        with self.client.batch() as b:
            for r in rts:
                b.add(r)

    def rt_table_size(self) -> int:
        for t in self.client.stats().tables:
            if t.table == routes.TABLE and t.family == 4:
                return t.routes
        return 0

    def rt_dump(self) -> list:
        return list(self.client.dump(self.filter))

    def rt_flush(self) -> int:
        return self.client.flush(self.filter)

    # ---- checks ----------------------------------------------------------

    @staticmethod
    def expect(what: str, got: int, want: int) -> None:
        if got != want:
            raise RuntimeError(f"{what}: {got:,} routes where {want:,} were expected")

    def rt_filled(self) -> None:
        self.expect("rtmgr table 100 after the insert", self.rt_table_size(), self.n)

    def rt_flushed(self, count: int) -> None:
        self.expect("rtshell flush", count, self.n)
        self.expect("rtmgr table 100 after the flush", self.rt_table_size(), 0)

    def fib_filled(self, want: int) -> None:
        self.expect("FIB table 100", Ip.count(), want)

    def fib_empty(self) -> None:
        self.expect("FIB table 100 after the flush", Ip.count(), 0)

    # ---- running -----------------------------------------------------------

    def run(self) -> list[Section]:
        Ip.del_rule()
        Ip.flush()
        self.rt_flush()
        Ip.add_rule()
        try:
            self.warm_up()
            insert, dump, flush, rtt, mem, notify, cli = (
                Section("insert", f"1. insert {self.n:,} IPv4 /32 routes (higher is better)"),
                Section("dump", f"2. dump {self.n:,} routes (higher is better)"),
                Section("flush", f"3. delete / flush {self.n:,} routes (higher is better)"),
                Section("roundtrip", "4. single-request round trip, table full (median; lower is better)"),
                Section("memory", f"5. kernel memory per route, {self.n:,} routes (lower is better)"),
                Section("notify", f"6. notifications while a batch inserts {self.n:,} routes"),
                Section("cli", f"7. the command line, as a user runs it, {self.cli_n:,} routes, "
                               "start-up included (higher is better)"),
            )
            self.sections = [insert, dump, flush, rtt, mem, notify, cli]
            phases = [
                (self.fill_both, (insert, mem)),
                (self.dumps, (dump,)),
                (self.round_trips, (rtt,)),
                (self.flushes, (flush,)),
                (self.repeat_fills, (insert, flush)),
                (self.pyroute2_paths, (insert, dump, flush)),
                (self.notifications, (notify,)),
                (self.command_lines, (cli,)),
            ]
            for phase, sections in phases:
                try:
                    phase(*sections)
                except Exception as exc:  # recorded; the other benchmarks still run
                    text = f"{phase.__name__} failed: {type(exc).__name__}: {exc}"
                    log(text)
                    self.failures.append(text)
                    for s in sections:
                        s.notes.append(text)
                    self.rt_flush()
                    Ip.flush()
            for s in self.sections:
                s.finish()
            insert.notes.append(self.goal_note(insert))
            return self.sections
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        for step in (self.rt_flush, Ip.flush, Ip.del_rule, self.py.close, self.client.close):
            try:
                step()
            except Exception as exc:  # cleanup goes on; the run already has its figures
                log(f"cleanup: {step.__name__}: {exc}")
        for f in self.tmp.iterdir():
            f.unlink()
        self.tmp.rmdir()

    def warm_up(self) -> None:
        """Every path once on a few routes: imports, page cache, first-call costs."""
        w = min(WARMUP_ROUTES, self.n)
        log(f"warm-up on {w} routes")
        addr = routes.address(0)
        self.rt_insert(self.routes[:w])
        self.rt_dump()
        self.client.lookup(addr, table=routes.TABLE)
        self.client.get(self.routes[0].dst, table=routes.TABLE)
        self.expect("rtshell warm-up flush", self.rt_flush(), w)
        warm_file = routes.write_ip_batch(self.tmp / "warm.batch", w)
        Ip.batch(warm_file)
        Ip.show()
        Ip.get(addr)
        self.py.dump()
        self.py.get(addr)
        Ip.flush()
        prefixes = self.peer_prefixes[: min(WARMUP_PEER_ROUTES, self.peer_n)]
        self.py.add_each(prefixes)
        self.expect("pyroute2 warm-up flush", self.py.flush(), len(prefixes))
        self.py.add_batch(prefixes)
        Ip.flush()
        self.fib_empty()

    # ---- 1 + 5: the first fills, with the memory they take -----------------

    def fill_both(self, insert: Section, mem: Section) -> None:
        n = self.n
        log("rtshell batch insert (with memory snapshots)")
        s0 = memory.snapshot()
        seconds, _ = timed(lambda: self.rt_insert(self.routes))
        self.rt_filled()
        accounted = self.client.stats().memory
        s1 = memory.snapshot()
        self.rt_insert_runs.append(seconds)
        log(f"  {seconds:.2f} s; ip -batch insert")
        seconds, _ = timed(lambda: Ip.batch(self.batch_file))
        s2 = memory.snapshot()
        self.fib_filled(n)
        self.ip_insert_runs.append(seconds)
        log(f"  {seconds:.2f} s")

        rt, fib = memory.growth(s0, s1), memory.growth(s1, s2)
        mem.add(Row("rtmgr, its own count: stats().memory / N", accounted / n, "B/route", False,
                    rtshell=True, id="accounted", count=n))
        mem.add(Row("rtmgr, slab objects (/proc/slabinfo)", rt.objects / n, "B/route", False,
                    rtshell=True, id="objects", count=n))
        mem.add(Row("rtmgr, Slab pages (/proc/meminfo)", rt.slab / n, "B/route", False,
                    rtshell=True, id="slab", count=n))
        mem.add(Row("FIB, slab objects (/proc/slabinfo)", fib.objects / n, "B/route", False,
                    versus="objects", count=n))
        mem.add(Row("FIB, Slab pages (/proc/meminfo)", fib.slab / n, "B/route", False,
                    versus="slab", count=n))
        for who, g in (("rtmgr", rt), ("FIB", fib)):
            grown = ", ".join(f"{name} {b / n:.0f}" for name, b in g.top)
            mem.notes.append(f"{who}: caches that grew most (B/route): {grown}; "
                             f"VmallocUsed {g.vmalloc / n:+.1f} B/route")
        mem.extra = {"rtmgr": vars(rt), "fib": vars(fib), "rtmgr_stats_memory": accounted}

    # ---- 2: dumps, both tables full ----------------------------------------

    def dumps(self, dump: Section) -> None:
        n = self.n
        log("dumps")
        runs = repeat(self.rt_dump, 3, self.budget,
                      after=lambda got: self.expect("rtshell dump", len(got), n))
        dump.add(Row("rtshell client.dump() -> list of Route", n / median(runs), "routes/s", True,
                     rtshell=True, count=n, runs=runs))
        runs = repeat(Ip.show, 3, self.budget)
        dump.add(Row("ip route show table 100 > /dev/null", n / median(runs), "routes/s", True,
                     count=n, runs=runs, note="text to /dev/null, no Python objects: not like for like"))
        log("  done")

    # ---- 4: round trips, both tables full ------------------------------------

    def round_trips(self, rtt: Section) -> None:
        log("round trips")
        picks = routes.sample(self.n, self.samples)
        addrs = [routes.address(i) for i in picks]
        dsts = [self.routes[i].dst for i in picks]
        budget = self.budget

        def cycle(items):
            it = iter(items * 2)
            return lambda: next(it)

        def row(name, samples, more="", **kw):
            note = f"p90 {percentile(samples, 0.9) * 1e6:,.0f} us" + (f"; {more}" if more else "")
            return Row(name, median(samples) * 1e6, "us", False, count=len(samples), note=note, **kw)

        nxt = cycle(addrs)
        s = latencies(lambda: self.client.lookup(nxt(), table=routes.TABLE), len(addrs), budget)
        rtt.add(row("rtshell client.lookup(addr)", s, rtshell=True, id="lookup"))
        nxt = cycle(dsts)
        s = latencies(lambda: self.client.get(nxt(), table=routes.TABLE), len(dsts), budget)
        rtt.add(row("rtshell client.get(prefix)", s, rtshell=True, id="get"))
        s = self.bare_lookups(addrs, budget)
        rtt.add(row("rtmgr LOOKUP, bare NetlinkSocket (no client threads)", s, rtshell=True, id="bare",
                    more="what the client's threads add is the difference to client.lookup"))
        nxt = cycle(addrs)
        s = latencies(lambda: self.py.get(nxt()), len(addrs), budget)
        rtt.add(row("pyroute2 route('get', dst=addr)", s, versus="lookup"))
        nxt = cycle(addrs)
        s = latencies(lambda: Ip.get(nxt()), max(5, len(addrs) // 10), budget)
        rtt.add(row("ip route get addr (subprocess)", s, versus="lookup",
                    more="dominated by fork+exec of ip, not by the kernel"))
        log("  done")

    def bare_lookups(self, addrs: list[str], budget: float) -> list[float]:
        """Round trips of LOOKUP requests over a plain NetlinkSocket, no client."""
        objs = [ipaddress.IPv4Address(a) for a in addrs]
        with nl.NetlinkSocket() as sock:
            state = {"seq": 0, "i": 0}

            def once():
                state["seq"] += 1
                addr = objs[state["i"] % len(objs)]
                state["i"] += 1
                sock.send(nl.build_lookup(state["seq"], addr, routes.TABLE))
                msgs = nl.parse(sock.recv(CLIENT_TIMEOUT))
                if not msgs or msgs[0].kind != "lookup" or msgs[0].route is None:
                    raise RuntimeError(f"bare lookup of {addr}: unexpected answer {msgs!r}")

            return latencies(once, len(objs), budget)

    # ---- 3: the first flushes ----------------------------------------------

    def flushes(self, flush: Section) -> None:
        log("flushes")
        seconds, count = timed(self.rt_flush)
        self.rt_flushed(count)
        self.rt_flush_runs.append(seconds)
        seconds, _ = timed(Ip.flush)
        self.fib_empty()
        self.ip_flush_runs.append(seconds)
        log("  done")

    # ---- 1 + 3 again: more runs where they fit the budget ---------------------

    def repeat_fills(self, insert: Section, flush: Section) -> None:
        n = self.n
        log("repeated fills and flushes")
        # interleaved, so that a change of load on the host hits both sides;
        # at least one repeat each, so that no figure is a cold first fill alone
        for repeat_no in range(2):
            if repeat_no == 0 or sum(self.rt_insert_runs) + sum(self.rt_flush_runs) < self.budget:
                seconds, _ = timed(lambda: self.rt_insert(self.routes))
                self.rt_filled()
                self.rt_insert_runs.append(seconds)
                seconds, count = timed(self.rt_flush)
                self.rt_flushed(count)
                self.rt_flush_runs.append(seconds)
            if repeat_no == 0 or sum(self.ip_insert_runs) + sum(self.ip_flush_runs) < self.budget:
                seconds, _ = timed(lambda: Ip.batch(self.batch_file))
                self.fib_filled(n)
                self.ip_insert_runs.append(seconds)
                seconds, _ = timed(Ip.flush)
                self.fib_empty()
                self.ip_flush_runs.append(seconds)
        insert.add(Row("rtshell client.batch() -> rtmgr", n / median(self.rt_insert_runs), "routes/s", True,
                       rtshell=True, id="batch", count=n, runs=self.rt_insert_runs,
                       note="Route objects built beforehand, like the ip -batch file"))
        insert.add(Row("ip -batch (route add ... dev dummy0 table 100) -> FIB", n / median(self.ip_insert_runs),
                       "routes/s", True, count=n, runs=self.ip_insert_runs))
        flush.add(Row("rtshell client.flush(Filter(table=100)) -> rtmgr", n / median(self.rt_flush_runs),
                      "routes/s", True, rtshell=True, count=n, runs=self.rt_flush_runs))
        flush.add(Row("ip route flush table 100 -> FIB", n / median(self.ip_flush_runs), "routes/s", True,
                      count=n, runs=self.ip_flush_runs))
        log("  done")

    # ---- 7: what a user types -------------------------------------------------

    def shell_batch(self, path: Path) -> None:
        """``batch FILE`` as the shell's executor runs it: a terminal-mode
        output (successes left to the summary line), this process's client,
        no start-up.  Without the shell's live feed, which also takes in every
        notification of the batch (make shell is slower: see issue 10's note)."""
        from rtshell.commands.executor import Executor
        from rtshell.render import Output

        with open(os.devnull, "w") as null, open(path) as f:
            ex = Executor(Output("rich", file=null, err=null), client=self.client)
            if not ex.run_batch(f.readlines(), str(path)):
                raise RuntimeError(f"batch {path} failed in the shell")

    def command_lines(self, cli: Section) -> None:
        """``rtshell -b FILE`` and ``batch FILE`` in a running shell against
        ``ip -batch FILE`` (the same file of ``route add`` lines), then
        ``route show`` of the table into a file against ``ip route show``
        into a file; each side's runs take turns."""
        m = self.cli_n
        log(f"command lines, {m:,} routes")
        batch = routes.write_ip_batch(self.tmp / "cli.batch", m)
        shown = self.tmp / "shown.txt"
        rtshell = [sys.executable, "-m", "rtshell"]
        runs: dict[str, list[float]] = {"rt_b": [], "rt_shell": [], "ip_b": [], "rt_show": [], "ip_show": []}

        def lines_shown() -> int:
            with open(shown, "rb") as f:
                return sum(1 for _ in f)

        def show_into(cmd: list[str]) -> None:
            with open(shown, "w") as out:
                subprocess.run(cmd, stdout=out, check=True)

        for repeat_no in range(2):
            if repeat_no == 0 or sum(runs["rt_b"]) + sum(runs["rt_show"]) < self.budget:
                seconds, _ = timed(lambda: subprocess.run(rtshell + ["-b", str(batch)], check=True))
                self.expect("rtmgr table 100 after rtshell -b", self.rt_table_size(), m)
                runs["rt_b"].append(seconds)
                seconds, _ = timed(lambda: show_into(rtshell + ["route", "show", "table", str(routes.TABLE)]))
                self.expect("lines of rtshell route show", lines_shown(), m)
                runs["rt_show"].append(seconds)
                self.expect("rtshell flush", self.rt_flush(), m)
                seconds, _ = timed(lambda: self.shell_batch(batch))
                self.expect("rtmgr table 100 after batch in the shell", self.rt_table_size(), m)
                runs["rt_shell"].append(seconds)
                self.expect("rtshell flush", self.rt_flush(), m)
            if repeat_no == 0 or sum(runs["ip_b"]) + sum(runs["ip_show"]) < self.budget:
                seconds, _ = timed(lambda: Ip.batch(batch))
                self.fib_filled(m)
                runs["ip_b"].append(seconds)
                seconds, _ = timed(lambda: show_into(["ip", "route", "show", "table", str(routes.TABLE)]))
                self.expect("lines of ip route show", lines_shown(), m)
                runs["ip_show"].append(seconds)
                Ip.flush()
                self.fib_empty()
        cli.add(Row("rtshell -b FILE -> rtmgr", m / median(runs["rt_b"]), "routes/s", True,
                    rtshell=True, id="batch", count=m, runs=runs["rt_b"]))
        cli.add(Row("ip -batch FILE -> FIB", m / median(runs["ip_b"]), "routes/s", True,
                    versus="batch", count=m, runs=runs["ip_b"], note="the same file of route add lines"))
        cli.add(Row("batch FILE, the shell's executor -> rtmgr", m / median(runs["rt_shell"]), "routes/s",
                    True, rtshell=True, id="shell", count=m, runs=runs["rt_shell"],
                    note="no start-up, and no live feed taking in the batch's notifications"))
        cli.add(Row("ip -batch FILE -> FIB", m / median(runs["ip_b"]), "routes/s", True,
                    versus="shell", count=m, runs=runs["ip_b"], note="the same runs as above"))
        cli.add(Row("rtshell route show table 100 > file", m / median(runs["rt_show"]), "routes/s", True,
                    rtshell=True, id="show", count=m, runs=runs["rt_show"]))
        cli.add(Row("ip route show table 100 > file", m / median(runs["ip_show"]), "routes/s", True,
                    versus="show", count=m, runs=runs["ip_show"]))
        log("  done")

    # ---- pyroute2, on its own (smaller) route count --------------------------

    def pyroute2_paths(self, insert: Section, dump: Section, flush: Section) -> None:
        m = self.peer_n
        on = f"measured on {m:,} routes" + (f" (not {self.n:,}: pyroute2 is slow under emulation)" if m < self.n else "")
        log(f"pyroute2 on {m:,} routes")
        prefixes = self.peer_prefixes
        add_runs, _ = timed(lambda: self.py.add_each(prefixes))
        self.fib_filled(m)
        dump_runs = repeat(self.py.dump, 3, self.budget,
                           after=lambda got: self.expect("pyroute2 dump", len(got), m))
        flush_runs = []
        seconds, count = timed(self.py.flush)
        self.expect("pyroute2 flush", count, m)
        flush_runs.append(seconds)
        self.fib_empty()
        batch_runs, _ = timed(lambda: self.py.add_batch(prefixes))
        self.fib_filled(m)
        seconds, count = timed(self.py.flush)
        self.expect("pyroute2 flush", count, m)
        flush_runs.append(seconds)
        self.fib_empty()
        insert.add(Row("pyroute2 IPBatch, 256 requests per sendmsg -> FIB", m / batch_runs, "routes/s", True,
                       count=m, runs=[batch_runs], note=on))
        insert.add(Row("pyroute2 IPRoute.route('add') per route -> FIB", m / add_runs, "routes/s", True,
                       count=m, runs=[add_runs], note=on))
        dump.add(Row("pyroute2 get_routes(table=100) -> list", m / median(dump_runs), "routes/s", True,
                     count=m, runs=dump_runs, note=on))
        flush.add(Row("pyroute2 flush_routes(table=100) -> FIB", m / median(flush_runs), "routes/s", True,
                      count=m, runs=flush_runs, note=on))
        log("  done")

    # ---- 6: notifications -------------------------------------------------------

    def notifications(self, notify: Section) -> None:
        n = self.n
        rcvbuf = min(256 << 20, max(4 << 20, n * 2048))
        for kind, name in (("client", "rtshell client.subscribe() in another process"),
                           ("raw", "bare NetlinkSocket(GROUP_ROUTE), headers counted, another process")):
            log(f"notifications: {kind} subscriber")
            sub = Subscriber(kind, n, rcvbuf)
            sub.start()
            start = time.perf_counter()
            self.rt_insert(self.routes)
            inserted = time.perf_counter() - start
            got = sub.result(timeout=max(60.0, inserted * 4))
            self.rt_filled()
            self.rt_flushed(self.rt_flush())
            lost = n - got.events
            if got.error:
                notify.add(Row(name, None, "events/s", True, rtshell=True, count=n, note=f"failed: {got.error}"))
                continue
            span = (got.last - start) if got.last is not None else None
            rate = got.events / span if span else None
            notify.add(Row(name, rate, "events/s", True, rtshell=True, count=got.events,
                           runs=[span] if span else [],
                           note=f"lost {lost:,} of {n:,}, overruns reported {got.overruns}; "
                                f"insert took {inserted:.2f} s, last event at "
                                f"{'-' if span is None else f'{span:.2f}'} s; "
                                f"rcvbuf {rcvbuf >> 20} MiB"))
            notify.extra[kind] = {"events": got.events, "lost": lost, "overruns": got.overruns,
                                  "insert_seconds": inserted, "delivery_seconds": span,
                                  "rcvbuf": rcvbuf}
        notify.notes.append("time: from the start of the batch to the last event received, so the rate "
                            "cannot exceed the insert rate; lost must be 0")
        log("  done")

    @staticmethod
    def goal_note(insert: Section) -> str:
        ip = next((r for r in insert.rows if r.contender.startswith("ip -batch")), None)
        if ip is None or ip.ratio is None:
            return "goal (3x ip -batch): not measured"
        verdict = "met" if ip.ratio >= 3 else "NOT met"
        return f"goal: insert 3x faster than ip -batch -- {verdict} (rtshell/ip -batch = {ip.ratio:.2f}x)"
