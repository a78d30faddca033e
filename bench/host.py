"""``python -m bench.host``: the receive-buffer parser on the host (no VM).

Builds dump buffers the way rtmgr lays them out (kernel/encode.c:
rtmgr_fill_route: NEWROUTE with NLM_F_MULTI, rtmgr_hdr, DST, next hop,
METRIC, CREATED, CHANGED; 32 KiB per datagram, NLMSG_DONE at the end) and
measures, in routes per second:

* ``rtshell.netlink.parse`` -- the whole path to ``Message`` records with
  ``Route`` objects, what every dump and notification goes through;
* the C parser alone (``rtm_parse`` into C structs, no Python objects),
  to show how the time splits between C and object building;

and, against an in-process socket that answers at once every request that asks for an ACK
(:mod:`bench.fakekernel`), ``Client.batch()`` adding N routes: the client's
own cost per route, with the batch builder alone beside it;

and the ``watch`` screen's model at a million routes: notifications applied
per second (the goal is 10,000/s), the time to read a 40-row window at any
offset, to apply a text filter, and to redraw the screen as ANSI text.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import platform
import struct
import sys
import time

from rtshell import netlink as nl
from rtshell import protocol as P
from rtshell._rtmgr_cffi import ffi, lib

from bench.fakekernel import AckingSocket
from bench.timing import median, percentile

_NLMSG = struct.Struct("=IHHII")
_HDR = struct.Struct("=BBBBI")  # family, dst_len, type, proto, table
DATAGRAM = 32 * 1024
_AF = {4: 2, 6: 10}


def _attr(atype: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return struct.pack("=HH", n, atype) + payload + b"\0" * (-n % 4)


def route_message(dst, oif: int, gateway=None, table: int = 100, seq: int = 1, portid: int = 1) -> bytes:
    """One dump element, attribute for attribute as the kernel puts it."""
    body = _HDR.pack(_AF[dst.version], dst.prefixlen, P.RTMGR_TYPE_UNICAST, 4, table)
    body += _attr(P.RTMGR_A_DST, dst.network_address.packed)
    if gateway is not None:
        body += _attr(P.RTMGR_A_GATEWAY, gateway.packed)
    body += _attr(P.RTMGR_A_OIF, struct.pack("=I", oif))
    body += _attr(P.RTMGR_A_METRIC, struct.pack("=I", 0))
    stamp = struct.pack("=Q", 1_700_000_000_000_000_000)
    body += _attr(P.RTMGR_A_CREATED, stamp) + _attr(P.RTMGR_A_CHANGED, stamp)
    return _NLMSG.pack(16 + len(body), P.RTMGR_MSG_NEWROUTE, P.NLM_F_MULTI, seq, portid) + body


def done_message(seq: int = 1, portid: int = 1) -> bytes:
    return _NLMSG.pack(20, P.NLMSG_DONE, P.NLM_F_MULTI, seq, portid) + struct.pack("=i", 0)


def dump_buffers(messages: list[bytes]) -> list[bytes]:
    """Messages packed into datagrams of at most 32 KiB, DONE in the last."""
    out, cur = [], bytearray()
    for m in messages:
        if len(cur) + len(m) > DATAGRAM:
            out.append(bytes(cur))
            cur = bytearray()
        cur += m
    cur += done_message()
    out.append(bytes(cur))
    return out


SCENARIOS = {
    "IPv4 /32 dev (as in the VM benchmarks)": lambda i: route_message(
        ipaddress.IPv4Network((0x0A000000 + i, 32)), 2),
    "IPv4 /24 via gateway dev": lambda i: route_message(
        ipaddress.IPv4Network(((0x0A000000 + (i << 8)) & 0xFFFFFFFF, 24)), 2,
        ipaddress.IPv4Address("10.99.0.2")),
    "IPv6 /64 via gateway dev": lambda i: route_message(
        ipaddress.IPv6Network(((0x20010DB8 << 96) + (i << 64), 64)), 2,
        ipaddress.IPv6Address("2001:db8:ffff::2")),
}


class CParser:
    """rtm_parse into C arrays only: no Python objects per route."""

    MSGS, ROUTES = 1024, 1024

    def __init__(self):
        self.msgs = ffi.new("struct rtm_msg[]", self.MSGS)
        self.routes = ffi.new("struct rtm_route[]", self.ROUTES)
        self.stats = ffi.new("struct rtm_stats[]", 1)
        self.tables = ffi.new("struct rtm_table_stats[]", 1)
        p = ffi.new("struct rtm_parser *")
        p.msgs, p.msgs_max = self.msgs, self.MSGS
        p.routes, p.routes_max = self.routes, self.ROUTES
        p.stats, p.stats_max = self.stats, 1
        p.tables, p.tables_max = self.tables, 1
        self.parser = p

    def count(self, buf: bytes) -> int:
        """Messages parsed in buf."""
        view = ffi.from_buffer(buf)
        off = total = 0
        while off < len(buf):
            n = lib.rtm_parse(self.parser, view + off, len(buf) - off)
            if n <= 0:
                raise RuntimeError(f"rtm_parse failed at byte {off}")
            total += self.parser.n_msgs
            off += n
        return total


def measure(buffers: list[bytes], routes: int, runs: int) -> dict[str, float]:
    """Routes per second of both parsers (median of runs, after one warm-up)."""

    def full():
        got = 0
        for b in buffers:
            got += sum(1 for m in nl.parse(b) if m.kind == "route")
        return got

    c = CParser()

    def c_only():
        return sum(c.count(b) for b in buffers) - 1  # minus DONE

    out = {}
    for name, fn in (("netlink.parse -> Route objects", full), ("C rtm_parse only", c_only)):
        if fn() != routes:
            raise RuntimeError(f"{name}: wrong number of routes")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = routes / median(times)
    return out


def batch_rates(n: int, runs: int) -> dict[str, float]:
    """Routes per second of Client.batch() on an instant kernel, and of BatchBuilder alone."""
    from rtshell.client import Client
    from rtshell.model import Route

    rts = [Route(dst=ipaddress.IPv4Network((0x0A000000 + i, 32)), table=100, oif=2) for i in range(n)]

    def client_batch():
        with Client(timeout=60.0, _socket_factory=AckingSocket) as client:
            start = time.perf_counter()
            with client.batch() as b:
                for r in rts:
                    b.add(r)
            return time.perf_counter() - start

    def builder():
        start = time.perf_counter()
        for _ in nl.BatchBuilder().pack((nl.NEWROUTE, nl.ADD_FLAGS, i + 1, r) for i, r in enumerate(rts)):
            pass
        return time.perf_counter() - start

    def objects():
        start = time.perf_counter()
        [Route(dst=ipaddress.IPv4Network((0x0A000000 + i, 32)), table=100, oif=2) for i in range(n)]
        return time.perf_counter() - start

    out = {}
    for name, fn in (("Client.batch(), instant kernel", client_batch),
                     ("BatchBuilder.pack() alone", builder),
                     ("building the Route objects (not timed above)", objects)):
        fn()
        out[name] = n / median([fn() for _ in range(runs)])
    return out


def watch_figures(n: int, events: int, samples: int) -> list[tuple[str, str]]:
    """The watch model over n IPv4 /32 routes: (figure, value) rows."""
    import random

    from rtshell.client import ResyncEvent
    from rtshell.commands.watch import SCAN_CHUNK, WatchModel, WatchScreen
    from rtshell.model import Event, Route
    from rtshell.names import Devices
    from rtshell.render import to_ansi

    from bench.routes import rtmgr_routes

    rng = random.Random(1)
    devices = Devices(lambda: [(1, "lo"), (2, "dummy0")])
    table = rtmgr_routes(n, oif=2)

    def stream(first: int) -> list[Event]:
        """Half changes, a quarter adds (from route `first` on), a quarter deletes."""
        fresh = rtmgr_routes(events // 4 + 1, oif=2, first=first)
        out = []
        for i in range(events):
            old = table[rng.randrange(n)]
            if i % 4 < 2:
                out.append(Event(kind="new", route=Route(dst=old.dst, table=old.table, oif=2, metric=1 + i % 7)))
            elif i % 4 == 2:
                out.append(Event(kind="new", route=fresh[i // 4]))
            else:
                out.append(Event(kind="del", route=old))
        return out

    model = WatchModel(None, devices)
    first = ResyncEvent(kind="resync", added=tuple(table), initial=True, count=n)
    start = time.perf_counter()
    model.on_event(first)
    rows = [("initial table (resync of the dump)", f"{time.perf_counter() - start:.2f} s")]

    def apply(label: str, evs: list[Event]) -> None:
        start = time.perf_counter()
        for ev in evs:
            model.on_event(ev)
        rate = len(evs) / (time.perf_counter() - start)
        rows.append((f"events applied{label}", f"{rate:,.0f} events/s"))

    apply("", stream(n))
    reads = []
    for _ in range(samples):
        offset = rng.randrange(len(model.routes))
        start = time.perf_counter()
        win = model.window(offset, 40)
        reads.append(time.perf_counter() - start)
        assert len(win.rows) == 40
    rows.append(("40-row window at a random offset, p50 / p95",
                 f"{percentile(reads, 0.5) * 1e6:,.0f} / {percentile(reads, 0.95) * 1e6:,.0f} µs"))

    screen = WatchScreen(model, "watch all tables", devices)
    draws = []
    for _ in range(max(10, samples // 20)):
        screen.offset = rng.randrange(len(model.routes))
        start = time.perf_counter()
        view, _ = screen.view(40 + 11, 1234.5)
        text = to_ansi(view, 120)
        draws.append(time.perf_counter() - start)
        assert text.count("/32") >= 40
    rows.append(("redraw: 40 rows, watch_view to ANSI (120 columns), p50 / p95",
                 f"{percentile(draws, 0.5) * 1e3:,.1f} / {percentile(draws, 0.95) * 1e3:,.1f} ms"))

    model.set_text(r"\.7/32")
    chunks = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        done = model.filter_step()
        chunks.append(time.perf_counter() - t)
        if done:
            break
    rows.append((f"text filter over the table ({model.count():,} matches)", f"{time.perf_counter() - start:.2f} s"))
    rows.append((f"  one chunk of it ({SCAN_CHUNK} routes, the lock held), p50 / max",
                 f"{percentile(chunks, 0.5) * 1e3:.1f} / {max(chunks) * 1e3:.1f} ms"))
    apply(" with the text filter on", stream(n + events))
    return rows


def completion_figures(n: int, events: int, samples: int) -> list[tuple[str, str]]:
    """TAB's index over n IPv4 /32 routes through 200 gateways: (figure, value) rows."""
    import ipaddress
    import random

    from rtshell.completion import CompletionEngine, LiveValues
    from rtshell.model import Event, Route
    from rtshell.names import Devices

    from bench.routes import rtmgr_routes

    rng = random.Random(1)
    gateways = [ipaddress.IPv4Address(f"10.99.{i // 250}.{1 + i % 250}") for i in range(200)]

    def via(routes: list[Route], first: int) -> list[Route]:
        return [Route(dst=r.dst, table=r.table, gateway=gateways[(first + i) % 200], oif=2)
                for i, r in enumerate(routes)]

    table = via(rtmgr_routes(n, oif=2), 0)
    live = LiveValues(Devices(lambda: [(1, "lo"), (2, "dummy0")]))
    _peak_rss_reset()
    base = _peak_rss()
    start = time.perf_counter()
    live.load(table)
    rows = [("index the table (a full dump)", f"{time.perf_counter() - start:.2f} s"),
            ("  peak resident size grew by", f"{(_peak_rss() - base) / 2**20:,.0f} MiB")]
    fresh = via(rtmgr_routes(events // 2, oif=2, first=n), 7)
    stream = [Event(kind="new", route=fresh[i // 2]) if i % 2 == 0 else Event(kind="del", route=table[rng.randrange(n)])
              for i in range(events)]
    start = time.perf_counter()
    for ev in stream:
        live.apply(ev)
    rows.append(("notifications applied (half adds, half deletes)",
                 f"{events / (time.perf_counter() - start):,.0f} events/s"))
    start = time.perf_counter()
    live.publish()
    rows.append(("publish gateways and tables", f"{(time.perf_counter() - start) * 1e3:,.2f} ms"))

    engine = CompletionEngine(live)
    for label, cut in (("a prefix cut after a random character", None), ("'10.' (the whole table matches)", 3)):
        times, shown = [], 0
        for _ in range(samples):
            word = str(table[rng.randrange(n)].dst)
            word = word[:cut or rng.randrange(1, len(word))]
            start = time.perf_counter()
            got = engine.complete("route del " + word)
            times.append(time.perf_counter() - start)
            shown += len(got)
        rows.append((f"TAB after 'route del' + {label}, p50 / p95",
                     f"{percentile(times, 0.5) * 1e3:,.2f} / {percentile(times, 0.95) * 1e3:,.2f} ms"))
        rows.append(("  suggestions per TAB, mean", f"{shown / samples:,.0f}"))
    return rows


def keystroke_figures(n: int, rate: int, keys: int) -> list[tuple[str, str]]:
    """The interactive shell at its prompt while another process changes the
    table at ``rate`` notifications/s (a table of n routes behind TAB): the
    time from a key reaching the input to the screen drawn with it."""
    import threading

    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output

    from rtshell.client import ResyncEvent
    from rtshell.commands.executor import Executor
    from rtshell.model import Event, Stats
    from rtshell.names import Devices
    from rtshell.render import Output
    from rtshell.repl import Repl

    from bench.routes import rtmgr_routes

    devices = Devices(lambda: [(1, "lo"), (2, "dummy0")])
    table = rtmgr_routes(n, oif=2)
    fresh = rtmgr_routes(rate * 60, oif=2, first=n)

    class Subscribed:
        """Just enough of Client for the live feed: its events come from the pump below."""

        timeout = 5.0
        pending = 0

        def __init__(self) -> None:
            self.on_event = None

        def subscribe(self, callback, filter=None, *, resync=False):
            self.on_event = callback
            callback(ResyncEvent(kind="resync", added=tuple(table), initial=True, count=n))
            return self

        def close(self) -> None:
            pass

        def stats(self, *, tables=True):
            return Stats(routes4=n, routes6=0, tables=(), memory=0, generation=0, requests=0, errors=0,
                         max_routes=4 << 20, table_count=1)

    client = Subscribed()
    with open(os.devnull, "w") as screen:
        out = Output("rich", file=screen, err=screen, devices=devices, width=120, color=True)
        ex = Executor(out, devices=devices, client=client)
        output = Vt100_Output(screen, lambda: Size(rows=40, columns=120), term="xterm")
        with create_pipe_input() as inp:
            repl = Repl(ex, history=InMemoryHistory(), input=inp, output=output, live_feed=True)
            app = repl.session.app
            drawn: list[float] = []
            app.after_render += lambda _app: drawn.append(time.perf_counter())
            stop = threading.Event()
            pumped = [0.0]  # events/s, measured by the pump itself

            def pump() -> None:  # another process's changes: one batch of events every 10 ms
                i, step, t = 0, max(1, rate // 100), time.perf_counter()
                start = t
                while not stop.is_set():
                    for _ in range(step):
                        r = fresh[i % len(fresh)]
                        client.on_event(Event(kind="new" if (i // len(fresh)) % 2 == 0 else "del", route=r,
                                              pid=812))
                        i += 1
                    t += 0.01
                    time.sleep(max(0.0, t - time.perf_counter()))
                pumped[0] = i / (time.perf_counter() - start)

            latencies: list[float] = []

            def typist() -> None:
                deadline = time.monotonic() + 60
                while not (app.is_running and len(repl.live) == n) and time.monotonic() < deadline:
                    time.sleep(0.01)  # TAB's index holds the table
                time.sleep(1.0)
                feeder = threading.Thread(target=pump, daemon=True)
                feeder.start()
                time.sleep(1.0)
                for k in range(keys):
                    drawn.clear()
                    buffer = app.current_buffer
                    want = len(buffer.text) + 1
                    t0 = time.perf_counter()
                    inp.send_text("r" if k % 40 else "\x15r")  # Ctrl-U now and then: the line stays short
                    if k % 40 == 0:
                        want = 1
                    limit = time.monotonic() + 5
                    while time.monotonic() < limit:
                        if drawn and len(buffer.text) == want and drawn[-1] >= t0:
                            latencies.append(drawn[-1] - t0)
                            break
                        time.sleep(0.0005)
                    time.sleep(0.02)
                stop.set()
                feeder.join()
                inp.send_text("\x15")
                inp.close()

            t = threading.Thread(target=typist)
            t.start()
            repl.run()
            t.join()
    return [
        (f"notifications delivered to the feed (target {rate:,}/s)", f"{pumped[0]:,.0f} events/s"),
        ("keys drawn", f"{len(latencies)} of {keys}"),
        ("key to screen, p50 / p95 / max",
         f"{percentile(latencies, 0.5) * 1e3:,.1f} / {percentile(latencies, 0.95) * 1e3:,.1f} / "
         f"{max(latencies) * 1e3:,.1f} ms"),
    ]


def _peak_rss_reset() -> None:
    """Start VmHWM (the peak resident size) again from the current size."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def show_figures(sizes: list[int]) -> list[tuple[str, str]]:
    """`route show` in the interactive shell's rich mode through the pager,
    over a client whose dump makes its routes as it goes (so the table itself
    is never in memory): time to the first screen, the whole table, and how
    much the peak resident size grows while it runs."""
    from rtshell import pager as pager_mod
    from rtshell.commands.executor import Executor
    from rtshell.names import Devices
    from rtshell.render import Output

    from bench.routes import rtmgr_routes

    devices = Devices(lambda: [(1, "lo"), (2, "dummy0")])

    class Streaming:
        """Just enough of Client for route show: a dump made on the fly, in kernel order."""

        timeout = 5.0

        def __init__(self, n: int):
            self.n = n

        def dump(self, filter=None, **kw):
            chunk = 10_000
            for first in range(0, self.n, chunk):
                yield from rtmgr_routes(min(chunk, self.n - first), oif=2, first=first)

    rows = []
    started: list[float] = []
    real_start = pager_mod.PagedFile._start

    def start(self):  # the first screen is complete: it goes to the pager now
        started.append(time.perf_counter())
        real_start(self)

    pager_mod.PagedFile._start = start
    try:
        with open(os.devnull, "w") as screen:
            for n in sizes:
                out = Output("rich", file=screen, err=screen, devices=devices, width=120, color=True)
                ex = Executor(out, devices=devices, client=Streaming(n))
                ex.pager = pager_mod.Pager(screen, command="cat > /dev/null")
                started.clear()
                _peak_rss_reset()
                base = _peak_rss()
                t0 = time.perf_counter()
                assert ex.run_line("route show table all")
                total = time.perf_counter() - t0
                grew = _peak_rss() - base
                rows.append((f"{n:,} routes: first screen to the pager", f"{(started[0] - t0) * 1e3:,.0f} ms"))
                rows.append((f"{n:,} routes: the whole table through it", f"{total:,.1f} s ({n / total:,.0f} routes/s)"))
                rows.append((f"{n:,} routes: peak resident size grew by", f"{grew / 2**20:,.1f} MiB"))
    finally:
        pager_mod.PagedFile._start = real_start
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.host", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--routes", "-n", type=int, default=100_000, help="routes per dump (default %(default)s)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per figure, median taken (default %(default)s)")
    p.add_argument("--watch-routes", type=int, default=1_000_000,
                   help="routes in the watch model's table (default %(default)s)")
    p.add_argument("--watch-events", type=int, default=200_000,
                   help="notifications applied to it (default %(default)s)")
    p.add_argument("--show-routes", type=int, nargs="+", default=[100_000, 1_000_000],
                   help="table sizes for route show through the pager (default %(default)s)")
    p.add_argument("--completion-routes", type=int, default=1_000_000,
                   help="routes behind TAB's index (default %(default)s)")
    p.add_argument("--keystroke-rate", type=int, default=10_000,
                   help="notifications/s while keys are typed at the prompt (default %(default)s)")
    p.add_argument("--only", choices=("parser", "batch", "watch", "completion", "keys", "show"),
                   help="run one part only")
    args = p.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}")
    if args.only in (None, "parser"):
        parser_report(args)
    if args.only in (None, "batch"):
        print()
        print(f"IPv4 /32 adds, {args.routes:,} routes, against an in-process socket that answers at once")
        for name, rate in batch_rates(args.routes, args.runs).items():
            print(f"{name:<50}{rate:>14,.0f} routes/s")
    if args.only in (None, "watch"):
        section(f"watch model, {args.watch_routes:,} IPv4 /32 routes, {args.watch_events:,} notifications "
                "(half changes, a quarter adds, a quarter deletes)",
                watch_figures(args.watch_routes, args.watch_events, samples=1000))
    if args.only in (None, "completion"):
        section(f"completion (TAB), {args.completion_routes:,} IPv4 /32 routes through 200 gateways, "
                f"{args.watch_events:,} notifications",
                completion_figures(args.completion_routes, args.watch_events, samples=1000))
    if args.only in (None, "keys"):
        section(f"the prompt while {args.keystroke_rate:,} notifications/s arrive, "
                f"{args.routes:,} routes behind TAB (rich output, a 120x40 xterm into /dev/null)",
                keystroke_figures(args.routes, args.keystroke_rate, keys=200))
    if args.only in (None, "show"):
        section("route show table all in the shell's rich mode, through the pager (cat > /dev/null), "
                "over a dump made as it is read", show_figures(args.show_routes))
    return 0


def section(title: str, rows: list[tuple[str, str]]) -> None:
    """One part's figures: a blank line, its title, a row a figure."""
    print()
    print(title)
    for name, value in rows:
        print(f"{name:<64}{value:>24}")


def parser_report(args) -> None:
    print(f"receive-buffer parser, {args.routes:,} routes per dump, median of {args.runs} runs")
    print(f"{'scenario':<42}{'bytes/route':>12}{'netlink.parse':>18}{'C rtm_parse only':>20}{'C share':>9}")
    for name, make in SCENARIOS.items():
        messages = [make(i) for i in range(args.routes)]
        buffers = dump_buffers(messages)
        rates = measure(buffers, args.routes, args.runs)
        full, c_only = rates["netlink.parse -> Route objects"], rates["C rtm_parse only"]
        print(f"{name:<42}{len(messages[0]):>12}{full:>12,.0f} rt/s{c_only:>14,.0f} rt/s"
              f"{full / c_only:>8.1%}")
    print("C share: the part of netlink.parse's time spent in the C parser; the rest builds Python objects.")


if __name__ == "__main__":
    sys.exit(main())
