// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_decode.c: any message as readable text, for `explain` and tracing.
 *
 * The bytes it reads are those of rtm_parse.c (see the pictures there); for
 * each message it writes, in this order:
 *
 *   #1 @0 NEWROUTE(16) len 52 flags REQUEST|ACK|EXCL|CREATE (0x605) seq 7 pid 0
 *     hdr: family inet dst_len 24 type unicast(1) proto 0 table 254
 *     DST(1) len 8: 10.0.0.0/24
 *     MULTIPATH(5) len 28 nested:
 *       MP_NEXTHOP(1) len 24 nested:
 *         NH_GATEWAY(1) len 8: 192.0.2.1
 *     ...
 *     0000  34 00 00 00 10 00 05 06  07 00 00 00 00 00 00 00  4...............
 *
 * header fields, flags by name for the message's class, every attribute
 * (nests indented, addresses as text, times also as UTC), then the bytes.
 * Malformed input is said to be malformed, and shown as bytes; nothing is
 * read past the end of a message or of the buffer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "rtm.h"

#define RTM_HDRS_LEN	(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmgr_hdr)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct out {
	char	*buf;
	size_t	size;
	size_t	len;		/* what the whole text needs */
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (o->len < o->size) {
		dst = o->buf + o->len;
		room = o->size - o->len;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

static void indent(struct out *o, int depth)
{
	put(o, "%*s", depth * 2, "");
}

static void hexdump(struct out *o, const uint8_t *p, size_t len, int depth)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		indent(o, depth);
		put(o, "%04zx ", i);
		for (j = i; j < i + 16; j++) {
			if (j % 8 == 0)
				put(o, " ");
			if (j < len)
				put(o, "%02x ", p[j]);
			else
				put(o, "   ");
		}
		put(o, " ");
		for (j = i; j < i + 16 && j < len; j++)
			put(o, "%c", p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		put(o, "\n");
	}
}

/* A string from the wire, with anything unprintable escaped. */
static void put_text(struct out *o, const char *s, size_t len)
{
	size_t i;

	put(o, "\"");
	for (i = 0; i < len && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			put(o, "%c", c);
		else
			put(o, "\\x%02x", c);
	}
	put(o, "\"");
}

static const char *errno_name(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char *name = strerrorname_np(err);

	if (name)
		return name;
#endif
	(void)err;
	return "E?";
}

static const char *errno_text(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char *text = strerrordesc_np(err);

	if (text)
		return text;
#endif
	(void)err;
	return "unknown error";
}

static const char *msg_type_name(uint16_t type)
{
	switch (type) {
	case NLMSG_NOOP:		return "NOOP";
	case NLMSG_ERROR:		return "ERROR";
	case NLMSG_DONE:		return "DONE";
	case NLMSG_OVERRUN:		return "OVERRUN";
	case RTMGR_MSG_NEWROUTE:	return "NEWROUTE";
	case RTMGR_MSG_DELROUTE:	return "DELROUTE";
	case RTMGR_MSG_GETROUTE:	return "GETROUTE";
	case RTMGR_MSG_LOOKUP:		return "LOOKUP";
	case RTMGR_MSG_FLUSH:		return "FLUSH";
	case RTMGR_MSG_GETSTATS:	return "GETSTATS";
	}
	return "UNKNOWN";
}

struct flag_name {
	uint16_t	bit;
	const char	*name;
};

static const struct flag_name common_flags[] = {
	{ NLM_F_REQUEST, "REQUEST" }, { NLM_F_MULTI, "MULTI" },
	{ NLM_F_ACK, "ACK" }, { NLM_F_ECHO, "ECHO" },
	{ NLM_F_DUMP_INTR, "DUMP_INTR" }, { NLM_F_DUMP_FILTERED, "DUMP_FILTERED" },
};
static const struct flag_name get_flags[] = {
	{ NLM_F_DUMP, "DUMP" }, { NLM_F_ROOT, "ROOT" }, { NLM_F_MATCH, "MATCH" },
	{ NLM_F_ATOMIC, "ATOMIC" },
};
static const struct flag_name new_flags[] = {
	{ NLM_F_REPLACE, "REPLACE" }, { NLM_F_EXCL, "EXCL" },
	{ NLM_F_CREATE, "CREATE" }, { NLM_F_APPEND, "APPEND" },
};
/* NLM_F_NONREC and NLM_F_BULK, which older UAPI headers lack */
static const struct flag_name del_flags[] = {
	{ 0x100, "NONREC" }, { 0x200, "BULK" },
};
static const struct flag_name ack_flags[] = {
	{ NLM_F_CAPPED, "CAPPED" }, { NLM_F_ACK_TLVS, "ACK_TLVS" },
};

static void put_flag_set(struct out *o, uint16_t *left, int *first,
			 const struct flag_name *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((*left & set[i].bit) != set[i].bit)
			continue;
		put(o, "%s%s", *first ? "" : "|", set[i].name);
		*left &= ~set[i].bit;
		*first = 0;
	}
}

static void put_flags(struct out *o, uint16_t type, uint16_t flags)
{
	uint16_t left = flags;
	int first = 1;

	put_flag_set(o, &left, &first, common_flags, ARRAY_SIZE(common_flags));
	switch (type) {
	case RTMGR_MSG_GETROUTE:
	case RTMGR_MSG_LOOKUP:
	case RTMGR_MSG_GETSTATS:
		put_flag_set(o, &left, &first, get_flags, ARRAY_SIZE(get_flags));
		break;
	case RTMGR_MSG_NEWROUTE:
		put_flag_set(o, &left, &first, new_flags, ARRAY_SIZE(new_flags));
		break;
	case RTMGR_MSG_DELROUTE:
	case RTMGR_MSG_FLUSH:
		put_flag_set(o, &left, &first, del_flags, ARRAY_SIZE(del_flags));
		break;
	case NLMSG_ERROR:
	case NLMSG_DONE:
		put_flag_set(o, &left, &first, ack_flags, ARRAY_SIZE(ack_flags));
		break;
	}
	if (left)
		put(o, "%s0x%x", first ? "" : "|", left);
	else if (first)
		put(o, "none");
	put(o, " (0x%x)", flags);
}

static const char *family_name(uint8_t family)
{
	switch (family) {
	case AF_UNSPEC:	return "unspec";
	case AF_INET:	return "inet";
	case AF_INET6:	return "inet6";
	}
	return "unknown";
}

static const char *route_type_name(uint8_t type)
{
	switch (type) {
	case RTMGR_TYPE_UNSPEC:		return "unspec";
	case RTMGR_TYPE_UNICAST:	return "unicast";
	case RTMGR_TYPE_BLACKHOLE:	return "blackhole";
	case RTMGR_TYPE_UNREACHABLE:	return "unreachable";
	case RTMGR_TYPE_PROHIBIT:	return "prohibit";
	}
	return "unknown";
}

static const char *match_name(uint8_t match)
{
	switch (match) {
	case RTMGR_MATCH_EXACT:	return "exact";
	case RTMGR_MATCH_ROOT:	return "root";
	case RTMGR_MATCH_MATCH:	return "match";
	}
	return "unknown";
}

/* ---- attribute sets --------------------------------------------------- */

enum val {
	V_ADDR,		/* 4 or 16 bytes */
	V_PREFIX,	/* address / hdr.dst_len */
	V_ADDRS,	/* packed addresses */
	V_U8,
	V_U32,
	V_U64,
	V_TIME,		/* u64 ns since the epoch */
	V_MATCH,	/* u8 enum rtmgr_match */
	V_FAMILY,	/* u8 AF_* */
	V_NEST,
	V_PAD,
};

struct attr_desc {
	const char	*name;
	enum val	val;
	int		nest;	/* for V_NEST: index into sets[] */
};

enum { SET_TOP, SET_MP, SET_NH, SET_STATS, SET_TS, SET_ACK };

static const struct attr_desc top_attrs[RTMGR_A_MAX + 1] = {
	[RTMGR_A_DST]		= { "DST", V_PREFIX, 0 },
	[RTMGR_A_GATEWAY]	= { "GATEWAY", V_ADDR, 0 },
	[RTMGR_A_OIF]		= { "OIF", V_U32, 0 },
	[RTMGR_A_METRIC]	= { "METRIC", V_U32, 0 },
	[RTMGR_A_MULTIPATH]	= { "MULTIPATH", V_NEST, SET_MP },
	[RTMGR_A_CREATED]	= { "CREATED", V_TIME, 0 },
	[RTMGR_A_CHANGED]	= { "CHANGED", V_TIME, 0 },
	[RTMGR_A_MATCH]		= { "MATCH", V_MATCH, 0 },
	[RTMGR_A_ADDR]		= { "ADDR", V_ADDR, 0 },
	[RTMGR_A_ADDRS]		= { "ADDRS", V_ADDRS, 0 },
	[RTMGR_A_COUNT]		= { "COUNT", V_U32, 0 },
	[RTMGR_A_STATS]		= { "STATS", V_NEST, SET_STATS },
	[RTMGR_A_PAD]		= { "PAD", V_PAD, 0 },
};
static const struct attr_desc mp_attrs[RTMGR_A_MP_MAX + 1] = {
	[RTMGR_A_MP_NEXTHOP]	= { "MP_NEXTHOP", V_NEST, SET_NH },
};
static const struct attr_desc nh_attrs[RTMGR_A_NH_MAX + 1] = {
	[RTMGR_A_NH_GATEWAY]	= { "NH_GATEWAY", V_ADDR, 0 },
	[RTMGR_A_NH_OIF]	= { "NH_OIF", V_U32, 0 },
	[RTMGR_A_NH_WEIGHT]	= { "NH_WEIGHT", V_U32, 0 },
};
static const struct attr_desc stats_attrs[RTMGR_A_STATS_MAX + 1] = {
	[RTMGR_A_STATS_ROUTES4]		= { "STATS_ROUTES4", V_U32, 0 },
	[RTMGR_A_STATS_ROUTES6]		= { "STATS_ROUTES6", V_U32, 0 },
	[RTMGR_A_STATS_TABLE]		= { "STATS_TABLE", V_NEST, SET_TS },
	[RTMGR_A_STATS_MEMORY]		= { "STATS_MEMORY", V_U64, 0 },
	[RTMGR_A_STATS_GENERATION]	= { "STATS_GENERATION", V_U64, 0 },
	[RTMGR_A_STATS_REQUESTS]	= { "STATS_REQUESTS", V_U64, 0 },
	[RTMGR_A_STATS_ERRORS]		= { "STATS_ERRORS", V_U64, 0 },
	[RTMGR_A_STATS_MAX_ROUTES]	= { "STATS_MAX_ROUTES", V_U32, 0 },
	[RTMGR_A_STATS_PAD]		= { "STATS_PAD", V_PAD, 0 },
	[RTMGR_A_STATS_MISSES]		= { "STATS_MISSES", V_U64, 0 },
	[RTMGR_A_STATS_TABLES]		= { "STATS_TABLES", V_U32, 0 },
};
static const struct attr_desc ts_attrs[RTMGR_A_TS_MAX + 1] = {
	[RTMGR_A_TS_TABLE]	= { "TS_TABLE", V_U32, 0 },
	[RTMGR_A_TS_FAMILY]	= { "TS_FAMILY", V_FAMILY, 0 },
	[RTMGR_A_TS_ROUTES]	= { "TS_ROUTES", V_U32, 0 },
};

static const struct {
	const struct attr_desc	*desc;
	unsigned int		max;
} sets[] = {
	[SET_TOP]	= { top_attrs, RTMGR_A_MAX },
	[SET_MP]	= { mp_attrs, RTMGR_A_MP_MAX },
	[SET_NH]	= { nh_attrs, RTMGR_A_NH_MAX },
	[SET_STATS]	= { stats_attrs, RTMGR_A_STATS_MAX },
	[SET_TS]	= { ts_attrs, RTMGR_A_TS_MAX },
};

/* What the attributes of one message are read against. */
struct ctx {
	uint8_t		family;
	uint8_t		dst_len;
};

static void put_addr(struct out *o, const uint8_t *p, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 4 && inet_ntop(AF_INET, p, text, sizeof(text)))
		put(o, "%s", text);
	else if (len == 16 && inet_ntop(AF_INET6, p, text, sizeof(text)))
		put(o, "%s", text);
	else
		put(o, "(%zu bytes: not an address)", len);
}

static void put_time(struct out *o, uint64_t ns)
{
	time_t secs = ns / 1000000000ull;
	char text[64];
	struct tm tm;

	put(o, "%llu", (unsigned long long)ns);
	if (secs >= 0 && gmtime_r(&secs, &tm) &&
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
		put(o, " (%s.%09lluZ)", text,
		    (unsigned long long)(ns % 1000000000ull));
}

static int want_size(struct out *o, size_t have, size_t want)
{
	if (have == want)
		return 1;
	put(o, "malformed: %zu bytes, expected %zu\n", have, want);
	return 0;
}

static void decode_attrs(struct out *o, const struct ctx *c, const void *start,
			 int len, int set, int depth);

static void decode_value(struct out *o, const struct ctx *c,
			 const struct attr_desc *d, const struct nlattr *a,
			 int depth)
{
	const uint8_t *p = rtm_attr_data(a);
	size_t n = rtm_attr_payload_len(a);
	uint32_t u32;
	uint64_t u64;
	size_t i, alen;

	switch (d->val) {
	case V_ADDR:
		put_addr(o, p, n);
		put(o, "\n");
		return;
	case V_PREFIX:
		put_addr(o, p, n);
		put(o, "/%u\n", c->dst_len);
		return;
	case V_ADDRS:
		alen = c->family == AF_INET ? 4 : c->family == AF_INET6 ? 16 : 0;
		if (!alen || n % alen) {
			put(o, "malformed: %zu bytes of %s addresses\n", n,
			    family_name(c->family));
			return;
		}
		put(o, "%zu addresses\n", n / alen);
		for (i = 0; i < n; i += alen) {
			indent(o, depth + 1);
			put_addr(o, p + i, alen);
			put(o, "\n");
		}
		return;
	case V_U8:
	case V_MATCH:
	case V_FAMILY:
		if (!want_size(o, n, 1))
			return;
		if (d->val == V_MATCH)
			put(o, "%s(%u)\n", match_name(p[0]), p[0]);
		else if (d->val == V_FAMILY)
			put(o, "%s(%u)\n", family_name(p[0]), p[0]);
		else
			put(o, "%u\n", p[0]);
		return;
	case V_U32:
		if (!want_size(o, n, 4))
			return;
		memcpy(&u32, p, 4);
		put(o, "%u\n", u32);
		return;
	case V_U64:
	case V_TIME:
		if (!want_size(o, n, 8))
			return;
		memcpy(&u64, p, 8);
		if (d->val == V_TIME)
			put_time(o, u64);
		else
			put(o, "%llu", (unsigned long long)u64);
		put(o, "\n");
		return;
	case V_NEST:
		put(o, "nested\n");
		decode_attrs(o, c, p, n, d->nest, depth + 1);
		return;
	case V_PAD:
		put(o, "padding\n");
		return;
	}
}

static void decode_attrs(struct out *o, const struct ctx *c, const void *start,
			 int len, int set, int depth)
{
	const struct nlattr *a;
	int rem = len;

	rtm_attr_for_each(a, (const struct nlattr *)start, rem) {
		uint16_t t = rtm_attr_type(a);
		const struct attr_desc *d = NULL;

		if (t <= sets[set].max && sets[set].desc[t].name)
			d = &sets[set].desc[t];
		indent(o, depth);
		if (!d) {
			put(o, "unknown(%u) len %u:\n", t, a->nla_len);
			hexdump(o, rtm_attr_data(a), rtm_attr_payload_len(a),
				depth + 1);
			continue;
		}
		put(o, "%s(%u) len %u: ", d->name, t, a->nla_len);
		decode_value(o, c, d, a, depth);
	}
	if (rem > 0) {
		indent(o, depth);
		put(o, "malformed: %d bytes that are no attribute", rem);
		if (rem >= (int)sizeof(struct nlattr))
			put(o, " (nla_len %u)", a->nla_len);
		put(o, "\n");
	}
}

static void decode_rtmgr(struct out *o, const uint8_t *msg, uint32_t len,
			 int depth)
{
	const struct rtmgr_hdr *h = (const void *)(msg + NLMSG_HDRLEN);
	struct ctx c;

	indent(o, depth);
	if (len < RTM_HDRS_LEN) {
		put(o, "malformed: %u bytes, too short for the rtmgr header\n",
		    len);
		return;
	}
	put(o, "hdr: family %s(%u) dst_len %u type %s(%u) proto %u table %u\n",
	    family_name(h->family), h->family, h->dst_len,
	    route_type_name(h->type), h->type, h->proto, h->table);
	c.family = h->family;
	c.dst_len = h->dst_len;
	decode_attrs(o, &c, msg + RTM_HDRS_LEN, len - RTM_HDRS_LEN, SET_TOP,
		     depth);
}

static void decode_ack_tlvs(struct out *o, const uint8_t *msg, uint32_t len,
			    uint32_t start, int depth)
{
	const struct nlattr *a;
	int rem = len - start;

	rtm_attr_for_each(a, (const struct nlattr *)(msg + start), rem) {
		const uint8_t *p = rtm_attr_data(a);
		uint16_t n = rtm_attr_payload_len(a);
		uint32_t u32;

		indent(o, depth);
		switch (rtm_attr_type(a)) {
		case NLMSGERR_ATTR_MSG:
			put(o, "ext ack message: ");
			put_text(o, (const char *)p, n);
			put(o, "\n");
			break;
		case NLMSGERR_ATTR_OFFS:
			put(o, "ext ack offset: ");
			if (want_size(o, n, 4)) {
				memcpy(&u32, p, 4);
				put(o, "%u (in the request)\n", u32);
			}
			break;
		default:
			put(o, "ext ack attribute %u, %u bytes\n",
			    rtm_attr_type(a), n);
		}
	}
	if (rem > 0) {
		indent(o, depth);
		put(o, "malformed: %d bytes that are no attribute\n", rem);
	}
}

static void put_errno(struct out *o, int32_t err)
{
	if (err == 0)
		put(o, "0 (ACK: success)\n");
	else if (err < 0 && err >= -4095)
		put(o, "%d %s (%s)\n", err, errno_name(-err), errno_text(-err));
	else
		put(o, "%d (malformed: not a negative errno)\n", err);
}

static void decode_msg(struct out *o, const uint8_t *msg, uint32_t len,
		       int depth);

static void decode_error(struct out *o, const struct nlmsghdr *nlh,
			 const uint8_t *msg, uint32_t len, int depth)
{
	struct nlmsghdr req;
	uint32_t tlvs;
	int32_t err;

	indent(o, depth);
	if (len < NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
		put(o, "malformed: %u bytes, too short for struct nlmsgerr\n",
		    len);
		return;
	}
	memcpy(&err, msg + NLMSG_HDRLEN, 4);
	memcpy(&req, msg + NLMSG_HDRLEN + 4, sizeof(req));
	put(o, "error: ");
	put_errno(o, err);
	indent(o, depth);
	put(o, "request: %s(%u) len %u flags ", msg_type_name(req.nlmsg_type),
	    req.nlmsg_type, req.nlmsg_len);
	put_flags(o, req.nlmsg_type, req.nlmsg_flags);
	put(o, " seq %u pid %u%s\n", req.nlmsg_seq, req.nlmsg_pid,
	    nlh->nlmsg_flags & NLM_F_CAPPED ? " (capped: header only)" : "");
	if (nlh->nlmsg_flags & NLM_F_CAPPED) {
		tlvs = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	} else if (req.nlmsg_len >= NLMSG_HDRLEN &&
		   req.nlmsg_len <= len - NLMSG_HDRLEN - 4) {
		/* the request itself, but not a request inside a request */
		if (depth == 1)
			decode_msg(o, msg + NLMSG_HDRLEN + 4, req.nlmsg_len,
				   depth + 1);
		tlvs = NLMSG_HDRLEN + 4 + NLMSG_ALIGN(req.nlmsg_len);
	} else {
		indent(o, depth);
		put(o, "malformed: the embedded request claims %u bytes\n",
		    req.nlmsg_len);
		return;
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && tlvs < len)
		decode_ack_tlvs(o, msg, len, tlvs, depth);
}

static void decode_done(struct out *o, const struct nlmsghdr *nlh,
			const uint8_t *msg, uint32_t len, int depth)
{
	int32_t err;

	if (len == NLMSG_HDRLEN)
		return;
	indent(o, depth);
	if (len < NLMSG_HDRLEN + 4) {
		put(o, "malformed: %u bytes, too short for the error int\n",
		    len);
		return;
	}
	memcpy(&err, msg + NLMSG_HDRLEN, 4);
	put(o, "error: ");
	put_errno(o, err);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && NLMSG_HDRLEN + 4 < len)
		decode_ack_tlvs(o, msg, len, NLMSG_HDRLEN + 4, depth);
}

/* The body of one message whose length is known to be right. */
static void decode_msg(struct out *o, const uint8_t *msg, uint32_t len,
		       int depth)
{
	struct nlmsghdr nlh;

	memcpy(&nlh, msg, sizeof(nlh));
	if (depth > 1) {
		/* an embedded request: its header line first */
		indent(o, depth);
		put(o, "%s(%u) len %u\n", msg_type_name(nlh.nlmsg_type),
		    nlh.nlmsg_type, nlh.nlmsg_len);
	}
	switch (nlh.nlmsg_type) {
	case NLMSG_ERROR:
		decode_error(o, &nlh, msg, len, depth);
		return;
	case NLMSG_DONE:
		decode_done(o, &nlh, msg, len, depth);
		return;
	case RTMGR_MSG_NEWROUTE:
	case RTMGR_MSG_DELROUTE:
	case RTMGR_MSG_GETROUTE:
	case RTMGR_MSG_LOOKUP:
	case RTMGR_MSG_FLUSH:
	case RTMGR_MSG_GETSTATS:
		decode_rtmgr(o, msg, len, depth);
		return;
	}
	if (len > NLMSG_HDRLEN) {
		indent(o, depth);
		put(o, "payload of a type rtmgr does not use\n");
	}
}

size_t rtm_decode(const void *buf, size_t len, char *out, size_t outlen)
{
	struct out o = { out, outlen, 0 };
	const uint8_t *b = buf;
	unsigned int index = 0;
	size_t off = 0;

	if (outlen)
		out[0] = '\0';
	if (!buf && len) {
		put(&o, "no buffer\n");
		return o.len;
	}
	if ((uintptr_t)buf & (NLMSG_ALIGNTO - 1)) {
		put(&o, "buffer not aligned to %u bytes\n", NLMSG_ALIGNTO);
		return o.len;
	}
	if (!len)
		put(&o, "empty buffer\n");
	while (off < len) {
		size_t rest = len - off;
		struct nlmsghdr nlh;

		index++;
		put(&o, "#%u @%zu ", index, off);
		if (rest < NLMSG_HDRLEN) {
			put(&o, "malformed: %zu bytes, too short for a netlink header\n",
			    rest);
			hexdump(&o, b + off, rest, 1);
			break;
		}
		memcpy(&nlh, b + off, sizeof(nlh));
		put(&o, "%s(%u) len %u flags ", msg_type_name(nlh.nlmsg_type),
		    nlh.nlmsg_type, nlh.nlmsg_len);
		put_flags(&o, nlh.nlmsg_type, nlh.nlmsg_flags);
		put(&o, " seq %u pid %u\n", nlh.nlmsg_seq, nlh.nlmsg_pid);
		if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > rest) {
			put(&o, "  malformed: nlmsg_len %u but %zu bytes left\n",
			    nlh.nlmsg_len, rest);
			hexdump(&o, b + off, rest, 1);
			break;
		}
		decode_msg(&o, b + off, nlh.nlmsg_len, 1);
		hexdump(&o, b + off, nlh.nlmsg_len, 1);
		off += NLMSG_ALIGN(nlh.nlmsg_len);
	}
	return o.len;
}
