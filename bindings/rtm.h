/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtm: the C helper library of rtshell.  Builds rtmgr netlink requests into
 * caller-owned buffers, parses whole receive buffers into plain structs,
 * decodes any message into text and drives the netlink socket.
 *
 * The wire protocol is defined once, in kernel/uapi/linux/rtmgr.h.
 *
 * Conventions (libmnl's):
 *  - every function is rtm_<object>_<verb>;
 *  - nothing allocates: buffers and result arrays belong to the caller;
 *  - failure is -1 (or NULL) with errno set; EMSGSIZE means "the buffer is
 *    too small", E2BIG "more items than the protocol allows";
 *  - attribute iteration keeps a signed remaining length, because a lying
 *    nla_len can make it negative.
 *
 * Layers, one source file each:
 *   rtm_attr.c    put and walk struct nlattr
 *   rtm_build.c   one builder per request, and the batch
 *   rtm_parse.c   receive buffer -> struct rtm_msg[] / rtm_route[] / ...
 *   rtm_decode.c  any message -> readable text
 *   rtm_sock.c    socket, send, receive with a timeout
 *   rtm_text.c    batch-file lines of route changes -> struct rtm_line
 */
#ifndef RTM_H
#define RTM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/rtmgr.h>

/* ---- attributes (rtm_attr.c) ------------------------------------------ */

/* Payload of an attribute, and its length. */
const void *rtm_attr_data(const struct nlattr *attr);
uint16_t rtm_attr_payload_len(const struct nlattr *attr);
/* The attribute type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
uint16_t rtm_attr_type(const struct nlattr *attr);

/*
 * Is there a whole attribute at @attr, given @remaining bytes from it?
 * Refuses remaining < 4, nla_len < 4 and nla_len > remaining.
 */
int rtm_attr_ok(const struct nlattr *attr, int remaining);
size_t rtm_family_addr_len(uint8_t family);
/* The next attribute; subtracts the aligned length from *remaining. */
const struct nlattr *rtm_attr_next(const struct nlattr *attr, int *remaining);

#define rtm_attr_for_each(attr, start, rem)				\
	for ((attr) = (start);						\
	     rtm_attr_ok((attr), (rem));				\
	     (attr) = rtm_attr_next((attr), &(rem)))

/*
 * Fill tb[0..maxtype] with the last attribute of each type found in
 * [start, start + len).  Fails with EBADMSG on a malformed attribute or
 * trailing bytes, EOPNOTSUPP on a type above @maxtype; *bad (if not NULL)
 * then points at the offending attribute (or the trailing bytes).
 */
int rtm_attr_parse(const void *start, int len, const struct nlattr **tb,
		   unsigned int maxtype, const void **bad);

/*
 * Append an attribute to the message at @nlh, whose buffer is @buflen
 * bytes long from @nlh.  EMSGSIZE when it does not fit.
 */
int rtm_attr_put(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		 size_t len, const void *data);
int rtm_attr_put_u8(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		    uint8_t value);
int rtm_attr_put_u32(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		     uint32_t value);
/* Open a nest (sets NLA_F_NESTED); NULL + EMSGSIZE when it does not fit. */
struct nlattr *rtm_attr_nest_start(struct nlmsghdr *nlh, size_t buflen,
				   uint16_t type);
void rtm_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *nest);
void rtm_attr_nest_cancel(struct nlmsghdr *nlh, struct nlattr *nest);

/* ---- plain structs shared by builders and parser ---------------------- */

struct rtm_nexthop {
	uint8_t		gateway[16];	/* network order, 4 or 16 used */
	uint32_t	oif;
	uint32_t	weight;		/* 0: not given (the kernel means 1) */
	uint8_t		has_gw;
	uint8_t		has_oif;
};

struct rtm_route {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		dst_len;
	uint8_t		type;		/* enum rtmgr_route_type */
	uint8_t		proto;
	uint32_t	table;
	uint8_t		dst[16];
	uint8_t		gateway[16];
	uint32_t	oif;
	uint32_t	metric;
	uint64_t	created;	/* replies only */
	uint64_t	changed;	/* replies only */
	uint8_t		has_gw;
	uint8_t		has_oif;
	uint8_t		has_metric;
	uint8_t		has_created;
	uint8_t		has_changed;
	uint8_t		multipath;	/* carried RTMGR_A_MULTIPATH */
	uint16_t	nh_count;
	struct rtm_nexthop nh[RTMGR_MAX_NEXTHOPS];
};

/* A dump / flush filter: zero and has_* == 0 mean "any". */
struct rtm_filter {
	uint8_t		family;		/* AF_UNSPEC: both */
	uint8_t		dst_len;
	uint8_t		type;		/* RTMGR_TYPE_UNSPEC: any */
	uint8_t		proto;		/* 0: any */
	uint32_t	table;		/* 0: all */
	uint8_t		dst[16];
	uint8_t		gateway[16];
	uint32_t	oif;
	uint32_t	metric;
	uint8_t		match;		/* enum rtmgr_match */
	uint8_t		has_dst;
	uint8_t		has_gw;
	uint8_t		has_oif;
	uint8_t		has_metric;
	uint8_t		has_match;
};

/* ---- builders (rtm_build.c) --------------------------------------------
 * Each writes one complete message at @buf and returns its length, or -1:
 * EMSGSIZE (buffer too small), EINVAL (bad family, prefix length, message
 * type), E2BIG (too many next hops or addresses).  @ack adds NLM_F_ACK where
 * a request may go without (the kernel then answers the reply, then an ACK).
 */
int rtm_build_route(void *buf, size_t buflen, uint16_t type, uint16_t flags,
		    uint32_t seq, const struct rtm_route *route);
int rtm_build_get(void *buf, size_t buflen, uint32_t seq, int ack,
		  uint8_t family, const void *dst, uint8_t dst_len,
		  uint32_t table, uint32_t metric, int has_metric);
int rtm_build_dump(void *buf, size_t buflen, uint32_t seq,
		   const struct rtm_filter *filter);
int rtm_build_flush(void *buf, size_t buflen, uint32_t seq, int ack,
		    const struct rtm_filter *filter);
int rtm_build_lookup(void *buf, size_t buflen, uint32_t seq, int ack,
		     uint8_t family, const void *addr, uint32_t table);
int rtm_build_lookup_many(void *buf, size_t buflen, uint32_t seq,
			  uint8_t family, const void *addrs,
			  unsigned int count, uint32_t table);
/* GETSTATS: the totals; with dump, then one message per (table, family). */
int rtm_build_stats(void *buf, size_t buflen, uint32_t seq, int ack, int dump);

/*
 * Batch: many requests in one buffer for one sendmsg().  Size the buffer
 * below the socket's send limit.
 */
struct rtm_batch {
	uint8_t		*buf;
	size_t		size;
	size_t		len;		/* bytes used */
	size_t		last;		/* offset of the last message */
	unsigned int	count;		/* messages in it */
};

void rtm_batch_init(struct rtm_batch *batch, void *buf, size_t size);
void rtm_batch_reset(struct rtm_batch *batch);
/*
 * Append a NEWROUTE / DELROUTE.  0: added.  1: the batch is full; nothing
 * was added: send batch->buf[0..len), rtm_batch_reset() and add again.
 * -1: error (EMSGSIZE when the message would not fit even an empty batch).
 */
int rtm_batch_add_route(struct rtm_batch *batch, uint16_t type,
			uint16_t flags, uint32_t seq,
			const struct rtm_route *route);
/*
 * The same for a route with at most one next hop, from plain values (no
 * struct rtm_route to fill: one call per route from Python).  dst, and gw
 * unless NULL, hold an address of the family; oif and metric are sent
 * when has_oif / has_metric.  Same return values.
 */
int rtm_batch_add_hop(struct rtm_batch *batch, uint16_t type, uint16_t flags,
		      uint32_t seq, uint8_t family, uint8_t dst_len,
		      uint8_t rtype, uint8_t proto, uint32_t table,
		      const void *dst, const void *gw, uint32_t oif,
		      int has_oif, uint32_t metric, int has_metric);
/*
 * Set NLM_F_ACK on the last message in the batch.  Requests sent without
 * NLM_F_ACK are answered only when they fail, and the kernel answers the
 * messages of one sendmsg() in order: the ACK (or error) of the last one
 * says every earlier one was processed and its error, if any, was sent.
 * -1 (EINVAL) when the batch is empty.
 */
int rtm_batch_ack_last(struct rtm_batch *batch);

/* ---- batch-file lines (rtm_text.c) ------------------------------------
 * Route changes in ip's words ("route add PREFIX via GW dev IF table T
 * metric N proto P", keys in any order, each once) read straight into
 * structs.  The words are the caller's: sorted by (kind, text), each with
 * its value (a verb, a key, an ifindex, a table or protocol number).
 */
#define RTM_WORD_MAX	32	/* text of a word, with its NUL */

enum rtm_word_kind {
	RTM_WORD_GROUP,		/* 'route' (value unused) */
	RTM_WORD_VERB,		/* value: enum rtm_verb */
	RTM_WORD_KEY,		/* value: enum rtm_key */
	RTM_WORD_DEV,		/* value: ifindex */
	RTM_WORD_TABLE,		/* value: table id */
	RTM_WORD_PROTO,		/* value: protocol number */
};

enum rtm_verb {
	RTM_VERB_ADD,
	RTM_VERB_REPLACE,
	RTM_VERB_CHANGE,
	RTM_VERB_APPEND,
	RTM_VERB_DELETE,
};

enum rtm_key {
	RTM_KEY_VIA,
	RTM_KEY_DEV,
	RTM_KEY_TABLE,
	RTM_KEY_METRIC,
	RTM_KEY_PROTO,
};

struct rtm_word {
	char		text[RTM_WORD_MAX];
	uint8_t		kind;		/* enum rtm_word_kind */
	uint32_t	value;
};

struct rtm_words {
	const struct rtm_word *words;	/* sorted by kind, then text (strcmp) */
	size_t		count;
	uint32_t	table_main;	/* the table when none is given */
	uint8_t		proto_default;	/* the protocol of a change that names none */
};

struct rtm_line {
	struct rtm_route route;		/* one next hop at most: gateway, oif */
	uint32_t	number;		/* line number, from the caller's first */
	uint32_t	start;		/* byte offset of the line in the text */
	uint32_t	len;		/* its length, without the newline */
	uint8_t		verb;		/* enum rtm_verb */
};

/*
 * Read lines from text[*pos..len) into out[0..max): blank and comment
 * lines are passed over, and the scan stops before the first line of
 * another shape (left for the caller's grammar, which also says what is
 * wrong with a bad one).  Advances *pos and *line_no past what was read;
 * returns the lines stored.
 */
size_t rtm_text_routes(const void *buf, size_t len, size_t *pos, uint32_t *line_no,
		       const struct rtm_words *words, struct rtm_line *out, size_t max);
/* Append a line's route to a batch: as rtm_batch_add_route(). */
int rtm_batch_add_line(struct rtm_batch *batch, uint16_t type, uint16_t flags,
		       uint32_t seq, const struct rtm_line *line, int has_metric);

/* ---- parser (rtm_parse.c) --------------------------------------------- */

enum rtm_kind {
	RTM_KIND_ROUTE,		/* NEWROUTE / DELROUTE: route */
	RTM_KIND_LOOKUP,	/* LOOKUP: addr, route (or -1: no match) */
	RTM_KIND_FLUSH,		/* FLUSH: count, filter */
	RTM_KIND_STATS,		/* GETSTATS: stats */
	RTM_KIND_ACK,		/* NLMSG_ERROR with error 0 */
	RTM_KIND_ERROR,		/* NLMSG_ERROR: error, ext ack */
	RTM_KIND_DONE,		/* NLMSG_DONE: error */
	RTM_KIND_MALFORMED,	/* bad: reason */
	RTM_KIND_OTHER,		/* a type this parser does not read */
};

enum rtm_bad {
	RTM_BAD_NONE,
	RTM_BAD_TRUNCATED,	/* fewer bytes than a netlink header */
	RTM_BAD_LENGTH,		/* nlmsg_len smaller than a header or past the end */
	RTM_BAD_SHORT,		/* payload shorter than its fixed header */
	RTM_BAD_ATTR,		/* attribute length zero, short or overlong */
	RTM_BAD_ATTR_TYPE,	/* attribute the message does not carry */
	RTM_BAD_ATTR_SIZE,	/* attribute payload of the wrong size */
	RTM_BAD_NEST,		/* bad entry inside a nested attribute */
	RTM_BAD_FAMILY,		/* family neither AF_INET nor AF_INET6 */
	RTM_BAD_PREFIX,		/* prefix length too long or host bits set */
	RTM_BAD_MISSING,	/* a required attribute is absent */
	RTM_BAD_NEXTHOPS,	/* more than RTMGR_MAX_NEXTHOPS next hops */
	RTM_BAD_ERRNO,		/* NLMSG_ERROR / DONE errno out of range */
	RTM_BAD_ECHO,		/* embedded request length lies */
	RTM_BAD_VALUE,		/* attribute value out of range */
	RTM_BAD_TABLES,		/* more per-table stats than the caller's array */
	__RTM_BAD_MAX
};

struct rtm_table_stats {
	uint32_t	table;
	uint32_t	routes;
	uint8_t		family;
};

struct rtm_stats {
	uint64_t	memory;
	uint64_t	generation;
	uint64_t	requests;
	uint64_t	errors;
	uint64_t	misses;		/* reads that found no route */
	uint32_t	routes4;
	uint32_t	routes6;
	uint32_t	max_routes;
	uint32_t	table_first;	/* index into rtm_parser.tables */
	uint32_t	table_count;	/* TABLE entries in this message */
	uint32_t	tables;		/* RTMGR_A_STATS_TABLES: pairs in all */
};

/* One record per netlink message. */
struct rtm_msg {
	uint32_t	off;		/* where it starts in the buffer */
	uint32_t	len;		/* nlmsg_len (0 if the header was cut) */
	uint16_t	type;
	uint16_t	flags;
	uint32_t	seq;
	uint32_t	pid;
	uint8_t		kind;		/* enum rtm_kind */
	uint8_t		bad;		/* enum rtm_bad, for RTM_KIND_MALFORMED */
	uint8_t		has_addr;
	uint8_t		has_count;
	uint8_t		has_err_off;
	uint8_t		family;		/* lookup: family of addr */
	uint16_t	bad_attr;	/* attribute type behind the failure */
	uint32_t	bad_off;	/* offset in the message of the failure */
	int32_t		route;		/* index into rtm_parser.routes, or -1 */
	int32_t		stats;		/* index into rtm_parser.stats, or -1 */
	int32_t		error;		/* ERROR/DONE: positive errno, 0 ACK */
	uint32_t	ext_ack_off;	/* NLMSGERR_ATTR_MSG, in the buffer */
	uint32_t	ext_ack_len;	/* 0: none; without the NUL */
	uint32_t	err_off;	/* NLMSGERR_ATTR_OFFS */
	uint32_t	req_len;	/* the failed request's header */
	uint16_t	req_type;
	uint16_t	req_flags;
	uint32_t	req_seq;
	uint32_t	req_pid;
	uint32_t	count;		/* flush */
	uint8_t		addr[16];	/* lookup: the address asked */
	struct rtm_filter filter;	/* flush */
};

struct rtm_parser {
	/* filled in by the caller */
	struct rtm_msg		*msgs;
	struct rtm_route	*routes;
	struct rtm_stats	*stats;
	struct rtm_table_stats	*tables;
	unsigned int		msgs_max;
	unsigned int		routes_max;
	unsigned int		stats_max;
	unsigned int		tables_max;
	/* results */
	unsigned int		n_msgs;
	unsigned int		n_routes;
	unsigned int		n_stats;
	unsigned int		n_tables;
};

/*
 * Parse the messages in buf[0..len) into the parser's arrays.  Returns the
 * bytes consumed: less than @len only when an array filled up, and then at
 * a message boundary (call again with buf + consumed).  Malformed input
 * never fails the call: it yields RTM_KIND_MALFORMED records, and a header
 * that cannot be trusted ends the walk with one such record covering the
 * rest.  -1 with EINVAL only when the parser itself is unusable.
 */
long rtm_parse(struct rtm_parser *parser, const void *buf, size_t len);

/* A short English reason for enum rtm_bad. */
const char *rtm_bad_str(unsigned int bad);

/* ---- decoder (rtm_decode.c) ------------------------------------------- */

/*
 * Write a readable account of every message in buf[0..len) into out
 * (NUL-terminated, truncated to outlen).  Returns the length the whole text
 * needs (like snprintf): call again with a larger buffer when >= outlen.
 */
size_t rtm_decode(const void *buf, size_t len, char *out, size_t outlen);

/* ---- socket (rtm_sock.c) ---------------------------------------------- */

struct rtm_sock {
	int		fd;
	uint32_t	portid;
	int		pending_err;	/* met while draining: the next receive's */
};

/*
 * Open an AF_NETLINK socket of @protocol (NETLINK_RTMGR), extended ACK
 * and capped ACK on, ENOBUFS reported, bound to the multicast @groups
 * (a bind() mask), receive buffer @rcvbuf bytes if > 0.  EPROTONOSUPPORT
 * when the protocol is not registered (module not loaded).
 */
int rtm_sock_open(struct rtm_sock *sock, int protocol, uint32_t groups,
		  int rcvbuf);
int rtm_sock_close(struct rtm_sock *sock);
int rtm_sock_set_rcvbuf(struct rtm_sock *sock, int bytes);
int rtm_sock_join(struct rtm_sock *sock, unsigned int group);
/* Send one buffer (one or many messages) to the kernel. */
ssize_t rtm_sock_send(struct rtm_sock *sock, const void *buf, size_t len);
/*
 * Receive one datagram from the kernel, waiting at most @timeout_ms
 * (-1: forever).  Datagrams from other ports are dropped.  -1 with EAGAIN
 * on timeout, ENOBUFS when the socket overran (messages were lost),
 * EMSGSIZE when the datagram did not fit (it is lost), EINTR on a signal.
 */
ssize_t rtm_sock_recv(struct rtm_sock *sock, void *buf, size_t len,
		      int timeout_ms);
/*
 * The same, then every further datagram already queued that fits after
 * it in @buf (each one's size is peeked first, so none is truncated),
 * back to back: one call for a burst of small datagrams (an error per
 * failed request of a batch, a notification per change).  An overrun met
 * after the first datagram is returned by the next call, the bytes before
 * it by this one.
 */
ssize_t rtm_sock_recv_queued(struct rtm_sock *sock, void *buf, size_t len,
			     int timeout_ms);

#endif /* RTM_H */
