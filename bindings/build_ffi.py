"""cffi build script (API mode): the module ``rtshell._rtmgr_cffi``.

Declarations only.  Every constant is declared with ``...`` so the C
compiler takes its value from the real headers: the names of the rtmgr
constants are read out of ``kernel/uapi/linux/rtmgr.h`` (and of
``bindings/rtm.h`` for the library's own enums) at build time, so a
constant added to the protocol reaches Python without touching this file.

Run by setuptools through ``cffi_modules`` in setup.py (from the project
root, so the source paths below are relative to it), or by hand:
``python bindings/build_ffi.py`` builds in a temporary directory and puts
the module into rtshell/.
"""

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
UAPI = ROOT / "kernel" / "uapi"
RTMGR_H = UAPI / "linux" / "rtmgr.h"
SOURCES = ["rtm_attr.c", "rtm_build.c", "rtm_parse.c", "rtm_decode.c", "rtm_sock.c", "rtm_text.c"]

# From <linux/netlink.h> and <sys/socket.h>: the ones rtshell uses.
SYSTEM_CONSTANTS = """
NLM_F_REQUEST NLM_F_MULTI NLM_F_ACK NLM_F_ECHO NLM_F_DUMP_INTR NLM_F_DUMP_FILTERED
NLM_F_ROOT NLM_F_MATCH NLM_F_ATOMIC NLM_F_DUMP
NLM_F_REPLACE NLM_F_EXCL NLM_F_CREATE NLM_F_APPEND
NLM_F_CAPPED NLM_F_ACK_TLVS
NLMSG_NOOP NLMSG_ERROR NLMSG_DONE NLMSG_OVERRUN NLMSG_MIN_TYPE NLMSG_ALIGNTO NLMSG_HDRLEN
NLMSGERR_ATTR_MSG NLMSGERR_ATTR_OFFS
NLA_F_NESTED NLA_F_NET_BYTEORDER NLA_TYPE_MASK
NETLINK_EXT_ACK NETLINK_CAP_ACK NETLINK_NO_ENOBUFS NETLINK_ADD_MEMBERSHIP
AF_UNSPEC AF_INET AF_INET6 AF_NETLINK
""".split()

_DEFINE = re.compile(r"^#define\s+([A-Z][A-Z0-9_]*)\s+\S", re.M)
_ENUM = re.compile(r"\benum\s+\w+\s*\{(.*?)\}", re.S)
_ENUMERATOR = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*(?:=[^,\n]*)?,?\s*(?:/\*.*)?$", re.M)


def header_constants(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    """Names of the integer constants (#define NAME value, enumerators) in a header."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    names = _DEFINE.findall(text)
    for body in _ENUM.findall(text):
        names += _ENUMERATOR.findall(body)
    seen = dict.fromkeys(n for n in names if n.startswith(prefixes))
    return list(seen)


CDEF_TYPES = """
struct rtm_nexthop {
    uint8_t gateway[16];
    uint32_t oif;
    uint32_t weight;
    uint8_t has_gw;
    uint8_t has_oif;
    ...;
};

struct rtm_route {
    uint8_t family;
    uint8_t dst_len;
    uint8_t type;
    uint8_t proto;
    uint32_t table;
    uint8_t dst[16];
    uint8_t gateway[16];
    uint32_t oif;
    uint32_t metric;
    uint64_t created;
    uint64_t changed;
    uint8_t has_gw;
    uint8_t has_oif;
    uint8_t has_metric;
    uint8_t has_created;
    uint8_t has_changed;
    uint8_t multipath;
    uint16_t nh_count;
    struct rtm_nexthop nh[...];
    ...;
};

struct rtm_filter {
    uint8_t family;
    uint8_t dst_len;
    uint8_t type;
    uint8_t proto;
    uint32_t table;
    uint8_t dst[16];
    uint8_t gateway[16];
    uint32_t oif;
    uint32_t metric;
    uint8_t match;
    uint8_t has_dst;
    uint8_t has_gw;
    uint8_t has_oif;
    uint8_t has_metric;
    uint8_t has_match;
    ...;
};

struct rtm_batch {
    uint8_t *buf;
    size_t size;
    size_t len;
    size_t last;
    unsigned int count;
    ...;
};

struct rtm_table_stats {
    uint32_t table;
    uint32_t routes;
    uint8_t family;
    ...;
};

struct rtm_stats {
    uint64_t memory;
    uint64_t generation;
    uint64_t requests;
    uint64_t errors;
    uint64_t misses;
    uint32_t routes4;
    uint32_t routes6;
    uint32_t max_routes;
    uint32_t table_first;
    uint32_t table_count;
    uint32_t tables;
    ...;
};

struct rtm_msg {
    uint32_t off;
    uint32_t len;
    uint16_t type;
    uint16_t flags;
    uint32_t seq;
    uint32_t pid;
    uint8_t kind;
    uint8_t bad;
    uint8_t has_addr;
    uint8_t has_count;
    uint8_t has_err_off;
    uint8_t family;
    uint16_t bad_attr;
    uint32_t bad_off;
    int32_t route;
    int32_t stats;
    int32_t error;
    uint32_t ext_ack_off;
    uint32_t ext_ack_len;
    uint32_t err_off;
    uint32_t req_len;
    uint16_t req_type;
    uint16_t req_flags;
    uint32_t req_seq;
    uint32_t req_pid;
    uint32_t count;
    uint8_t addr[16];
    struct rtm_filter filter;
    ...;
};

struct rtm_parser {
    struct rtm_msg *msgs;
    struct rtm_route *routes;
    struct rtm_stats *stats;
    struct rtm_table_stats *tables;
    unsigned int msgs_max;
    unsigned int routes_max;
    unsigned int stats_max;
    unsigned int tables_max;
    unsigned int n_msgs;
    unsigned int n_routes;
    unsigned int n_stats;
    unsigned int n_tables;
    ...;
};

struct rtm_sock {
    int fd;
    uint32_t portid;
    int pending_err;
    ...;
};

struct rtm_word {
    char text[...];
    uint8_t kind;
    uint32_t value;
    ...;
};

struct rtm_words {
    const struct rtm_word *words;
    size_t count;
    uint32_t table_main;
    uint8_t proto_default;
    ...;
};

struct rtm_line {
    struct rtm_route route;
    uint32_t number;
    uint32_t start;
    uint32_t len;
    uint8_t verb;
    ...;
};
"""

CDEF_FUNCTIONS = """
int rtm_build_route(void *buf, size_t buflen, uint16_t type, uint16_t flags,
                    uint32_t seq, const struct rtm_route *route);
int rtm_build_get(void *buf, size_t buflen, uint32_t seq, int ack, uint8_t family,
                  const void *dst, uint8_t dst_len, uint32_t table, uint32_t metric,
                  int has_metric);
int rtm_build_dump(void *buf, size_t buflen, uint32_t seq,
                   const struct rtm_filter *filter);
int rtm_build_flush(void *buf, size_t buflen, uint32_t seq, int ack,
                    const struct rtm_filter *filter);
int rtm_build_lookup(void *buf, size_t buflen, uint32_t seq, int ack, uint8_t family,
                     const void *addr, uint32_t table);
int rtm_build_lookup_many(void *buf, size_t buflen, uint32_t seq, uint8_t family,
                          const void *addrs, unsigned int count, uint32_t table);
int rtm_build_stats(void *buf, size_t buflen, uint32_t seq, int ack, int dump);

void rtm_batch_init(struct rtm_batch *batch, void *buf, size_t size);
void rtm_batch_reset(struct rtm_batch *batch);
int rtm_batch_add_route(struct rtm_batch *batch, uint16_t type, uint16_t flags,
                        uint32_t seq, const struct rtm_route *route);
int rtm_batch_add_hop(struct rtm_batch *batch, uint16_t type, uint16_t flags,
                      uint32_t seq, uint8_t family, uint8_t dst_len,
                      uint8_t rtype, uint8_t proto, uint32_t table,
                      const void *dst, const void *gw, uint32_t oif,
                      int has_oif, uint32_t metric, int has_metric);
int rtm_batch_ack_last(struct rtm_batch *batch);

long rtm_parse(struct rtm_parser *parser, const void *buf, size_t len);
const char *rtm_bad_str(unsigned int bad);

size_t rtm_decode(const void *buf, size_t len, char *out, size_t outlen);

int rtm_sock_open(struct rtm_sock *sock, int protocol, uint32_t groups, int rcvbuf);
int rtm_sock_close(struct rtm_sock *sock);
int rtm_sock_set_rcvbuf(struct rtm_sock *sock, int bytes);
int rtm_sock_join(struct rtm_sock *sock, unsigned int group);
ssize_t rtm_sock_send(struct rtm_sock *sock, const void *buf, size_t len);
ssize_t rtm_sock_recv(struct rtm_sock *sock, void *buf, size_t len, int timeout_ms);
ssize_t rtm_sock_recv_queued(struct rtm_sock *sock, void *buf, size_t len, int timeout_ms);

size_t rtm_text_routes(const void *buf, size_t len, size_t *pos, uint32_t *line_no,
                       const struct rtm_words *words, struct rtm_line *out, size_t max);
int rtm_batch_add_line(struct rtm_batch *batch, uint16_t type, uint16_t flags,
                       uint32_t seq, const struct rtm_line *line, int has_metric);
"""


def constant_names() -> list[str]:
    names = header_constants(RTMGR_H, ("RTMGR_", "NETLINK_RTMGR"))
    names += header_constants(HERE / "rtm.h", ("RTM_KIND_", "RTM_BAD_", "RTM_WORD_", "RTM_VERB_", "RTM_KEY_"))
    return names + SYSTEM_CONSTANTS


def _rel(path: Path) -> str:
    """Paths relative to the current directory: setuptools builds from the project
    root and keeps the objects under build/.  By hand, cffi compiles inside a
    temporary directory: absolute paths then."""
    if __name__ == "__main__":
        return str(path)
    return os.path.relpath(path)


ffibuilder = FFI()
ffibuilder.cdef(
    CDEF_TYPES
    + "".join(f"#define {name} ...\n" for name in constant_names())
    + CDEF_FUNCTIONS
)
ffibuilder.set_source(
    "rtshell._rtmgr_cffi",
    '#include <sys/socket.h>\n#include "rtm.h"\n',
    sources=[_rel(HERE / s) for s in SOURCES],
    include_dirs=[_rel(HERE), _rel(UAPI)],
    depends=[_rel(HERE / "rtm.h"), _rel(RTMGR_H)],
    extra_compile_args=["-O2", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        built = ffibuilder.compile(tmpdir=tmp, verbose=True)
        shutil.copy(built, ROOT / "rtshell")
        print(f"installed {Path(built).name} into {ROOT / 'rtshell'}")
