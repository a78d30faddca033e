"""The C library through the binding: builders against hand-written golden
bytes, the batch, the exceptions, the socket layer (on NETLINK_ROUTE, since
the host has no rtmgr), and a warning-free compile of the C sources."""

import errno
import ipaddress
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from rtshell import errors, netlink as nl, protocol as P
from rtshell.model import Filter, Match, NextHop, Route, RouteType, route_from_wire

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"


def golden(name: str) -> bytes:
    text = (GOLDEN / f"{name}.hex").read_text()
    return bytes.fromhex(re.sub(r"#.*", "", text))


def net(text):
    return ipaddress.ip_network(text)


def addr(text):
    return ipaddress.ip_address(text)


# ---- builders against golden bytes --------------------------------------------

BUILT = {
    "req_newroute_add_v4": lambda: nl.build_route(
        nl.NEWROUTE,
        nl.ADD_FLAGS,
        7,
        Route(dst=net("10.0.0.0/24"), gateway=addr("192.0.2.1"), oif=2, metric=100),
    ),
    "req_newroute_replace_multipath_v6": lambda: nl.build_route(
        nl.NEWROUTE,
        nl.REPLACE_FLAGS | nl.ECHO,
        8,
        Route(
            dst=net("2001:db8::/32"),
            nexthops=(NextHop(addr("fe80::1"), 2, 3), NextHop(None, 5, 1)),
        ),
    ),
    "req_newroute_change_blackhole": lambda: nl.build_route(
        nl.NEWROUTE,
        nl.CHANGE_FLAGS,
        9,
        Route(dst=net("192.0.2.0/24"), type=RouteType.BLACKHOLE, proto=4, table=100),
    ),
    "req_newroute_append_v4": lambda: nl.build_route(
        nl.NEWROUTE, nl.APPEND_FLAGS, 10, Route(dst=net("10.1.0.0/16"), gateway=addr("192.0.2.2"))
    ),
    "req_delroute_match": lambda: nl.build_route(
        nl.DELROUTE,
        nl.DELETE_FLAGS,
        11,
        Route(dst=net("10.0.0.0/24"), type=RouteType.UNSPEC, gateway=addr("192.0.2.1"), metric=100),
    ),
    "req_getroute_v6": lambda: nl.build_get(12, net("2001:db8:1::/48"), 254),
    "req_dump_all": lambda: nl.build_dump(13, None),
    "req_dump_filter": lambda: nl.build_dump(
        14,
        Filter(
            family=6,
            table=100,
            type=RouteType.UNICAST,
            proto=4,
            oif=3,
            gateway=addr("fe80::2"),
            metric=5,
            prefix=net("2001:db8::/32"),
            match=Match.ROOT,
        ),
    ),
    "req_flush_table": lambda: nl.build_flush(15, Filter(table=100)),
    "req_flush_all_noack": lambda: nl.build_flush(16, None, ack=False),
    "req_lookup_v4": lambda: nl.build_lookup(17, addr("10.0.0.1")),
    "req_lookup_many_v6": lambda: nl.build_lookup_many(18, [addr("2001:db8::1"), addr("2001:db8::2")], 100),
    "req_stats": lambda: nl.build_stats(19),
}


def test_every_request_golden_is_built():
    on_disk = {p.stem for p in GOLDEN.glob("req_*.hex")}
    assert on_disk == set(BUILT)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_builder_matches_golden(name):
    built = BUILT[name]()
    want = golden(name)
    assert built.hex(" ") == want.hex(" ")
    # nlmsg_len says the truth
    assert struct.unpack_from("=I", built)[0] == len(built)


def test_flag_sets():
    req_ack = P.NLM_F_REQUEST | P.NLM_F_ACK
    assert nl.ADD_FLAGS == req_ack | P.NLM_F_CREATE | P.NLM_F_EXCL
    assert nl.REPLACE_FLAGS == req_ack | P.NLM_F_CREATE | P.NLM_F_REPLACE
    assert nl.CHANGE_FLAGS == req_ack | P.NLM_F_REPLACE
    assert nl.APPEND_FLAGS == req_ack | P.NLM_F_CREATE | P.NLM_F_APPEND
    assert nl.GROUP_ROUTE == 1


def test_protocol_constants_come_from_the_header():
    header = (ROOT / "kernel/uapi/linux/rtmgr.h").read_text()
    assert "#define NETLINK_RTMGR\t\t31" in header
    assert P.NETLINK_RTMGR == 31
    for name in re.findall(r"^\s*(RTMGR_[A-Z0-9_]+)\b", header, re.M):
        assert hasattr(P, name), name
    # enumerators follow from their predecessors, as C counts them
    assert P.RTMGR_MSG_GETSTATS == P.RTMGR_MSG_NEWROUTE + 5
    assert P.RTMGR_A_PAD == P.RTMGR_A_MAX


def test_delete_matches_metric_only_when_asked():
    route = Route(dst=net("10.0.0.0/24"), type=RouteType.UNSPEC)
    plain = nl.build_route(nl.DELROUTE, nl.DELETE_FLAGS, 1, route)
    assert len(plain) == 32  # headers + DST only
    forced = nl.build_route(nl.DELROUTE, nl.DELETE_FLAGS, 1, route, match_metric=True)
    assert len(forced) == 40 and forced[-8:] == bytes.fromhex("0800040000000000")


def test_builder_refusals():
    with pytest.raises(errors.TooBig) as exc:
        nl.build_route(
            nl.NEWROUTE,
            nl.ADD_FLAGS,
            1,
            Route(dst=net("10.0.0.0/8"), nexthops=tuple(NextHop(None, i + 1) for i in range(P.RTMGR_MAX_NEXTHOPS + 1))),
        )
    assert exc.value.errno == errno.E2BIG
    # exactly the maximum is fine
    nl.build_route(
        nl.NEWROUTE,
        nl.ADD_FLAGS,
        1,
        Route(dst=net("10.0.0.0/8"), nexthops=tuple(NextHop(addr("10.0.0.1"), i + 1, 256) for i in range(P.RTMGR_MAX_NEXTHOPS))),
    )
    with pytest.raises(errors.InvalidRequest) as exc:
        # Route() refuses this itself; the C builder is the second line, for unchecked objects
        unchecked = route_from_wire(net("10.0.0.0/8"), 254, RouteType.UNICAST, 0, 0, addr("fe80::1"),
                                    None, (), None, None)
        nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, 1, unchecked)
    assert isinstance(exc.value, ValueError) and "different families" in str(exc.value)
    with pytest.raises(errors.InvalidRequest):  # multipath in a delete: the C builder refuses
        nl.build_route(nl.DELROUTE, nl.DELETE_FLAGS, 1, Route(dst=net("10.0.0.0/8"), nexthops=(NextHop(None, 1),) * 2))
    with pytest.raises(errors.InvalidRequest):  # not a route message
        nl.build_route(nl.GETROUTE, 1, 1, Route(dst=net("10.0.0.0/8")))
    with pytest.raises(errors.InvalidRequest):
        nl.build_lookup_many(1, [])
    with pytest.raises(errors.InvalidRequest):
        nl.build_lookup_many(1, [addr("10.0.0.1"), addr("::1")])
    with pytest.raises(errors.TooBig):
        nl.build_lookup_many(1, [addr("10.0.0.1")] * (P.RTMGR_MAX_LOOKUP_ADDRS + 1))
    with pytest.raises(errors.InvalidRequest):
        nl.build_dump(1, Filter(family=4, prefix=net("::/0")))


def test_ack_on_reads_when_asked():
    flags = lambda data: struct.unpack_from("=H", data, 6)[0]  # noqa: E731
    req_ack = P.NLM_F_REQUEST | P.NLM_F_ACK
    assert flags(nl.build_get(1, net("10.0.0.0/8"), ack=True)) == req_ack
    assert flags(nl.build_lookup(1, addr("10.0.0.1"), ack=True)) == req_ack
    assert flags(nl.build_stats(1, ack=True)) == req_ack
    assert flags(nl.build_flush(1, None)) == req_ack


def test_out_of_range_fields_are_invalid_requests():
    for route in (
        Route(dst=net("10.0.0.0/8"), oif=2**32),
        Route(dst=net("10.0.0.0/8"), oif=1, proto=256),
        Route(dst=net("10.0.0.0/8"), oif=1, metric=-1),
        Route(dst=net("10.0.0.0/8"), oif=1, table=2**32),
        Route(dst=net("10.0.0.0/8"), nexthops=(NextHop(None, 1, 0), NextHop(None, 2))),
        Route(dst=net("10.0.0.0/8"), nexthops=(NextHop(None, 1, 257), NextHop(None, 2))),
    ):
        with pytest.raises(errors.InvalidRequest) as exc:
            nl.build_route(nl.NEWROUTE, nl.ADD_FLAGS, 1, route)
        assert str(exc.value).startswith("route add 10.0.0.0/8")
    with pytest.raises(errors.InvalidRequest):
        nl.build_dump(1, Filter(oif=-5))
    with pytest.raises(errors.InvalidRequest):
        nl.build_lookup(1, addr("10.0.0.1"), table=-1)
    with pytest.raises(errors.InvalidRequest):
        nl.build_get(1, net("10.0.0.0/8"), table=2**40)


def test_lookup_many_at_the_limit():
    data = nl.build_lookup_many(1, [addr("2001:db8::1")] * P.RTMGR_MAX_LOOKUP_ADDRS)
    assert len(data) == 24 + 4 + 16 * P.RTMGR_MAX_LOOKUP_ADDRS


# ---- batch -----------------------------------------------------------------------


def _routes(n):
    for i in range(n):
        yield Route(dst=ipaddress.ip_network((0x0A000000 + (i << 8), 24)), gateway=addr("192.0.2.1"))


def test_batch_packs_and_splits():
    items = [(nl.NEWROUTE, nl.ADD_FLAGS, i + 1, r) for i, r in enumerate(_routes(100))]
    one = len(nl.build_route(*items[0]))
    size = one * 30 + 7  # room for 30, not 31
    buffers = list(nl.BatchBuilder(size).pack(items))
    assert [len(b) // one for b in buffers] == [30, 30, 30, 10]
    assert all(len(b) <= size for b in buffers)
    # the buffers hold the same messages, in order, as single builds
    assert b"".join(buffers) == b"".join(nl.build_route(*it) for it in items)
    seqs = [m.seq for b in buffers for m in nl.parse(b)]
    assert seqs == list(range(1, 101))


def test_batch_incremental_and_mixed():
    batch = nl.BatchBuilder(176)
    add = (nl.NEWROUTE, nl.ADD_FLAGS, 1, Route(dst=net("10.0.0.0/24"), oif=1))  # 24 + DST, OIF, METRIC: 48
    dele = (nl.DELROUTE, nl.DELETE_FLAGS, 2, Route(dst=net("10.0.0.0/24"), type=RouteType.UNSPEC))  # 32
    assert batch.add(*add) is None and batch.add(*dele) is None and batch.add(*add) is None
    assert len(batch) == 3 and batch.pending == 128
    assert batch.add(*add) is None and batch.pending == 176  # fits exactly
    full = batch.add(*dele)
    assert full is not None and len(full) == 176 and len(batch) == 1
    assert [m.type for m in nl.parse(full)] == [nl.NEWROUTE, nl.DELROUTE, nl.NEWROUTE, nl.NEWROUTE]
    assert batch.flush() == nl.build_route(*dele)
    assert batch.flush() is None


def test_batch_too_small_for_one_message():
    with pytest.raises(errors.RtmgrError) as exc:
        nl.BatchBuilder(40).add(nl.NEWROUTE, nl.ADD_FLAGS, 1, Route(dst=net("10.0.0.0/24"), oif=1))
    assert exc.value.errno == errno.EMSGSIZE


def test_batch_reuses_its_route_struct_cleanly():
    batch = nl.BatchBuilder()
    batch.add(nl.NEWROUTE, nl.ADD_FLAGS, 1, Route(dst=net("10.0.0.0/24"), gateway=addr("192.0.2.1"), oif=3))
    batch.add(nl.NEWROUTE, nl.ADD_FLAGS, 2, Route(dst=net("10.0.1.0/24"), oif=4))
    routes = [m.route for m in nl.parse(batch.flush())]
    assert routes[1].gateway is None and routes[1].oif == 4


# ---- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, cls, builtin",
    [
        (errno.EEXIST, errors.RouteExists, FileExistsError),
        (errno.ENOENT, errors.RouteNotFound, FileNotFoundError),
        (errno.ESRCH, errors.NoSuchRoute, ProcessLookupError),
        (errno.ENETUNREACH, errors.NoRoute, OSError),
        (errno.EPERM, errors.NotPermitted, PermissionError),
        (errno.EACCES, errors.NotPermitted, PermissionError),
        (errno.EINVAL, errors.InvalidRequest, ValueError),
        (errno.ENODEV, errors.NoSuchDevice, OSError),
        (errno.ENOSPC, errors.TableFull, OSError),
        (errno.E2BIG, errors.TooBig, OSError),
        (errno.EPROTONOSUPPORT, errors.ModuleNotLoaded, OSError),
        (errno.ETIMEDOUT, errors.Timeout, TimeoutError),
        (errno.ENOBUFS, errors.Overrun, OSError),
        (errno.EBADMSG, errors.ProtocolError, OSError),
        (errno.EOPNOTSUPP, errors.RtmgrError, OSError),
    ],
)
def test_error_for(code, cls, builtin):
    exc = errors.error_for(code, "kernel text", "route add 10.0.0.0/24", 24)
    assert type(exc) is cls and isinstance(exc, builtin) and isinstance(exc, errors.RtmgrError)
    assert exc.errno == code and exc.ext_ack == "kernel text" and exc.offset == 24
    assert exc.request == "route add 10.0.0.0/24"
    assert errors.error_for(-code).errno == code  # a raw negative errno is fine too


def test_error_text_is_one_readable_line():
    exc = errors.error_for(errno.EEXIST, "route exists", "route add 10.0.0.0/24 table 254")
    text = str(exc)
    assert "\n" not in text
    assert text.startswith("route add 10.0.0.0/24 table 254: EEXIST")
    assert "route exists" in text and "use replace or append" in text
    assert "needs CAP_NET_ADMIN" in str(errors.error_for(errno.EPERM))
    assert "no route matches" in str(errors.error_for(errno.ENETUNREACH))
    assert str(errors.InvalidRequest()).startswith("EINVAL")


def test_message_exception():
    msgs = nl.parse(golden("rep_error_extack"))
    exc = msgs[0].exception("route add 10.0.0.0/24")
    assert isinstance(exc, errors.RouteExists) and exc.offset == 24 and exc.ext_ack == "route exists"


# ---- the socket ----------------------------------------------------------------------


def _route_socket(**kw):
    return nl.NetlinkSocket(protocol=0, **kw)  # NETLINK_ROUTE: there on any Linux


def test_module_not_loaded_says_how_to_load_it():
    # the host tier runs where rtmgr cannot be loaded; on a host that has it
    # loaded, the same call must simply open the socket
    try:
        sock = nl.NetlinkSocket()
    except errors.ModuleNotLoaded as exc:
        assert exc.errno == errno.EPROTONOSUPPORT
        assert str(exc).endswith(errors.load_advice())
    else:
        assert sock.portid > 0
        sock.close()


def test_socket_ack_error_and_timeout():
    with _route_socket() as sock:
        assert sock.portid > 0 and sock.fileno() >= 0
        assert sock.recv(timeout=0.05) is None
        # NLMSG_NOOP with ACK: every netlink family acks it, capped
        sock.send(struct.pack("=IHHII", 16, P.NLMSG_NOOP, P.NLM_F_REQUEST | P.NLM_F_ACK, 42, 0))
        (ack,) = nl.parse(sock.recv(timeout=2))
        assert ack.kind == "ack" and ack.seq == 42 and ack.pid == sock.portid
        assert ack.flags & P.NLM_F_CAPPED and ack.request_type == P.NLMSG_NOOP
        # an unknown type is refused
        sock.send(struct.pack("=IHHII", 16, 999, P.NLM_F_REQUEST | P.NLM_F_ACK, 43, 0))
        (err,) = nl.parse(sock.recv(timeout=2))
        assert err.kind == "error" and err.seq == 43 and err.error == errno.EOPNOTSUPP
        assert isinstance(err.exception(), errors.RtmgrError)
    assert sock.closed
    with pytest.raises(errors.RtmgrError):
        sock.send(b"")


def test_socket_reports_overrun():
    with _route_socket(rcvbuf=1) as sock:
        noop = struct.pack("=IHHII", 16, P.NLMSG_NOOP, P.NLM_F_REQUEST | P.NLM_F_ACK, 1, 0)
        sock.send(noop * 2000)  # 2000 ACKs cannot fit the smallest receive buffer
        with pytest.raises(errors.Overrun) as exc:
            while sock.recv(timeout=1) is not None:
                pass
        assert exc.value.errno == errno.ENOBUFS


def test_recv_queued_takes_a_burst_in_one_call_and_truncates_nothing():
    noop = [struct.pack("=IHHII", 16, P.NLMSG_NOOP, P.NLM_F_REQUEST | P.NLM_F_ACK, seq, 0)
            for seq in range(1, 51)]
    with _route_socket() as sock:  # 50 ACKs: 50 datagrams
        sock.send(b"".join(noop))
        msgs = nl.parse(sock.recv(timeout=2, queued=True))
        assert [m.seq for m in msgs] == list(range(1, 51)) and {m.kind for m in msgs} == {"ack"}
        assert sock.recv(timeout=0.05, queued=True) is None
    ack = 36  # header, error, the request's header: one datagram
    with _route_socket(bufsize=7 * ack + 10) as sock:  # room for 7 at a time, never 8
        sock.send(b"".join(noop))
        sizes, seqs = [], []
        while len(seqs) < 50:
            buf = sock.recv(timeout=2, queued=True)
            sizes.append(len(buf))
            seqs += [m.seq for m in nl.parse(buf)]
        assert seqs == list(range(1, 51))
        assert sizes == [7 * ack] * 7 + [ack], sizes
    with _route_socket() as sock:  # without queued: one datagram per call
        sock.send(b"".join(noop[:3]))
        assert [len(nl.parse(sock.recv(timeout=2))) for _ in range(3)] == [1, 1, 1]


def test_recv_queued_reports_an_overrun():
    with _route_socket(rcvbuf=1) as sock:
        noop = struct.pack("=IHHII", 16, P.NLMSG_NOOP, P.NLM_F_REQUEST | P.NLM_F_ACK, 1, 0)
        sock.send(noop * 2000)
        got = 0
        with pytest.raises(errors.Overrun):
            while True:
                buf = sock.recv(timeout=1, queued=True)
                assert buf is not None
                got += len(nl.parse(buf))
        while (buf := sock.recv(timeout=0.2, queued=True)) is not None:
            got += len(nl.parse(buf))
        assert 0 < got < 2000  # what was queued still arrives, the rest was lost


def test_recv_blocks_without_the_gil():
    import threading
    import time

    with _route_socket() as sock:
        ticks = []
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                ticks.append(1)
                time.sleep(0.001)

        t = threading.Thread(target=spin)
        t.start()
        assert sock.recv(timeout=0.3) is None
        stop.set()
        t.join()
        assert len(ticks) > 20


# ---- the C sources compile cleanly -------------------------------------------------


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_c_sources_are_warning_free(cc, tmp_path):
    assert shutil.which(cc), f"{cc} is missing: scripts/install-host-deps installs it"
    for src in sorted((ROOT / "bindings").glob("rtm_*.c")):
        subprocess.run(
            [cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-I", ROOT / "bindings",
             "-I", ROOT / "kernel/uapi", "-c", src, "-o", tmp_path / (src.stem + ".o")],
            check=True,
        )


def test_signals_interrupt_recv_the_python_way():
    import signal
    import time

    with _route_socket() as sock:
        seen = []
        old = signal.signal(signal.SIGALRM, lambda *a: seen.append(1))
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            start = time.monotonic()
            assert sock.recv(timeout=0.3) is None  # EINTR is retried, the deadline kept
            assert seen and 0.25 < time.monotonic() - start < 2

            def interrupt(*a):
                raise KeyboardInterrupt

            signal.signal(signal.SIGALRM, interrupt)
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(KeyboardInterrupt):
                sock.recv(timeout=5)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def test_groups_and_join():
    with _route_socket(groups=1) as sock:  # RTMGRP_LINK, as a bind() mask
        sock.join(2)
        sock.set_rcvbuf(1 << 20)
    with pytest.raises(errors.RtmgrError):
        sock.join(1)
