# Types of the compiled cffi module rtshell._rtmgr_cffi (bindings/build_ffi.py).
#
# The structs and functions are those of the cdef, written again as Python
# types (tests/host/test_typing.py checks them against the compiled module,
# field by field and argument by argument).  lib's constants are every
# RTMGR_*, RTM_KIND_*, RTM_BAD_*, NLM*, NETLINK_* and AF_* name the build
# reads out of the headers: all ints, so they are typed by __getattr__.
# ffi is typed only as far as rtshell.netlink uses it.

from typing import Generic, Literal, TypeVar, overload

class CData:
    """A cffi object: a pointer, an array or a struct."""

_T = TypeVar("_T", bound=CData)

class Bytes(CData):
    """uint8_t[N], uint8_t *, char[], const char *: items are ints."""

    def __getitem__(self, index: int) -> int: ...
    def __setitem__(self, index: int, value: int) -> None: ...
    def __add__(self, offset: int) -> Bytes: ...
    def __len__(self) -> int: ...

class Array(CData, Generic[_T]):
    """struct X[N], struct X *: items are structs."""

    def __getitem__(self, index: int) -> _T: ...
    def __add__(self, offset: int) -> _T: ...  # a pointer to item ``offset``
    def __len__(self) -> int: ...

class Buffer:
    """ffi.buffer(): the bytes of a C object, without a copy."""

    def __getitem__(self, index: slice) -> bytes: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

class rtm_nexthop(CData):
    gateway: Bytes
    oif: int
    weight: int
    has_gw: int
    has_oif: int

class rtm_route(CData):
    family: int
    dst_len: int
    type: int
    proto: int
    table: int
    dst: Bytes
    gateway: Bytes
    oif: int
    metric: int
    created: int
    changed: int
    has_gw: int
    has_oif: int
    has_metric: int
    has_created: int
    has_changed: int
    multipath: int
    nh_count: int
    nh: Array[rtm_nexthop]

class rtm_filter(CData):
    family: int
    dst_len: int
    type: int
    proto: int
    table: int
    dst: Bytes
    gateway: Bytes
    oif: int
    metric: int
    match: int
    has_dst: int
    has_gw: int
    has_oif: int
    has_metric: int
    has_match: int

class rtm_batch(CData):
    buf: Bytes
    size: int
    len: int
    last: int
    count: int

class rtm_table_stats(CData):
    table: int
    routes: int
    family: int

class rtm_stats(CData):
    memory: int
    generation: int
    requests: int
    errors: int
    misses: int
    routes4: int
    routes6: int
    max_routes: int
    table_first: int
    table_count: int
    tables: int

class rtm_msg(CData):
    off: int
    len: int
    type: int
    flags: int
    seq: int
    pid: int
    kind: int
    bad: int
    has_addr: int
    has_count: int
    has_err_off: int
    family: int
    bad_attr: int
    bad_off: int
    route: int
    stats: int
    error: int
    ext_ack_off: int
    ext_ack_len: int
    err_off: int
    req_len: int
    req_type: int
    req_flags: int
    req_seq: int
    req_pid: int
    count: int
    addr: Bytes
    filter: rtm_filter

class rtm_parser(CData):
    msgs: Array[rtm_msg]
    routes: Array[rtm_route]
    stats: Array[rtm_stats]
    tables: Array[rtm_table_stats]
    msgs_max: int
    routes_max: int
    stats_max: int
    tables_max: int
    n_msgs: int
    n_routes: int
    n_stats: int
    n_tables: int

class rtm_sock(CData):
    fd: int
    portid: int
    pending_err: int

class rtm_word(CData):
    text: Bytes
    kind: int
    value: int

class rtm_words(CData):
    words: Array[rtm_word]
    count: int
    table_main: int
    proto_default: int

class rtm_line(CData):
    route: rtm_route
    number: int
    start: int
    len: int
    verb: int

# a `const void *` argument: a cffi object, or bytes passed as a pointer to their first byte
_In = CData | bytes

class FFI:
    NULL: CData
    errno: int
    @overload
    def new(self, cdecl: Literal["struct rtm_route *"]) -> rtm_route: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_filter *"]) -> rtm_filter: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_batch *"]) -> rtm_batch: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_parser *"]) -> rtm_parser: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_sock *"]) -> rtm_sock: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_msg[]"], init: int) -> Array[rtm_msg]: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_route[]"], init: int) -> Array[rtm_route]: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_stats[]"], init: int) -> Array[rtm_stats]: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_table_stats[]"], init: int) -> Array[rtm_table_stats]: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_words *"]) -> rtm_words: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_word[]"], init: int) -> Array[rtm_word]: ...
    @overload
    def new(self, cdecl: Literal["struct rtm_line[]"], init: int) -> Array[rtm_line]: ...
    @overload
    def new(self, cdecl: Literal["size_t *", "uint32_t *"]) -> Bytes: ...
    @overload
    def new(self, cdecl: Literal["uint8_t[]", "char[]"], init: int) -> Bytes: ...
    def buffer(self, cdata: CData, size: int = ...) -> Buffer: ...
    def from_buffer(self, python_buffer: bytes, /) -> Bytes: ...
    def memmove(self, dest: CData, src: _In, n: int) -> None: ...
    def sizeof(self, cdecl: str) -> int: ...
    def string(self, cdata: Bytes, maxlen: int = ...) -> bytes: ...

class Lib:
    def rtm_build_route(self, buf: CData, buflen: int, type: int, flags: int, seq: int,
                        route: rtm_route, /) -> int: ...
    def rtm_build_get(self, buf: CData, buflen: int, seq: int, ack: int, family: int, dst: _In,
                      dst_len: int, table: int, metric: int, has_metric: int, /) -> int: ...
    def rtm_build_dump(self, buf: CData, buflen: int, seq: int, filter: rtm_filter, /) -> int: ...
    def rtm_build_flush(self, buf: CData, buflen: int, seq: int, ack: int, filter: rtm_filter, /) -> int: ...
    def rtm_build_lookup(self, buf: CData, buflen: int, seq: int, ack: int, family: int, addr: _In,
                         table: int, /) -> int: ...
    def rtm_build_lookup_many(self, buf: CData, buflen: int, seq: int, family: int, addrs: _In,
                              count: int, table: int, /) -> int: ...
    def rtm_build_stats(self, buf: CData, buflen: int, seq: int, ack: int, dump: int, /) -> int: ...
    def rtm_batch_init(self, batch: rtm_batch, buf: CData, size: int, /) -> None: ...
    def rtm_batch_reset(self, batch: rtm_batch, /) -> None: ...
    def rtm_batch_add_route(self, batch: rtm_batch, type: int, flags: int, seq: int, route: rtm_route,
                            /) -> int: ...
    def rtm_batch_add_hop(self, batch: rtm_batch, type: int, flags: int, seq: int, family: int,
                          dst_len: int, rtype: int, proto: int, table: int, dst: _In, gw: _In,
                          oif: int, has_oif: int, metric: int, has_metric: int, /) -> int: ...
    def rtm_batch_ack_last(self, batch: rtm_batch, /) -> int: ...
    def rtm_parse(self, parser: rtm_parser, buf: _In, len: int, /) -> int: ...
    def rtm_bad_str(self, bad: int, /) -> Bytes: ...
    def rtm_decode(self, buf: _In, len: int, out: Bytes, outlen: int, /) -> int: ...
    def rtm_sock_open(self, sock: rtm_sock, protocol: int, groups: int, rcvbuf: int, /) -> int: ...
    def rtm_sock_close(self, sock: rtm_sock, /) -> int: ...
    def rtm_sock_set_rcvbuf(self, sock: rtm_sock, bytes: int, /) -> int: ...
    def rtm_sock_join(self, sock: rtm_sock, group: int, /) -> int: ...
    def rtm_sock_send(self, sock: rtm_sock, buf: _In, len: int, /) -> int: ...
    def rtm_sock_recv(self, sock: rtm_sock, buf: CData, len: int, timeout_ms: int, /) -> int: ...
    def rtm_sock_recv_queued(self, sock: rtm_sock, buf: CData, len: int, timeout_ms: int, /) -> int: ...
    def rtm_text_routes(self, buf: _In, len: int, pos: Bytes, line_no: Bytes,
                        words: rtm_words, out: Array[rtm_line], max: int, /) -> int: ...
    def rtm_batch_add_line(self, batch: rtm_batch, type: int, flags: int, seq: int, line: rtm_line,
                           has_metric: int, /) -> int: ...
    def __getattr__(self, name: str) -> int: ...

ffi: FFI
lib: Lib
