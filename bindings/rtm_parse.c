// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_parse.c: a whole receive buffer into plain structs.
 *
 * One recv() gives a buffer of messages back to back:
 *
 *  +--------------------+---+--------------------+---+--------------------+
 *  | message 1          |pad| message 2          |pad| NLMSG_DONE         |
 *  +--------------------+---+--------------------+---+--------------------+
 *  <--- nlmsg_len ----->     each starts at NLMSG_ALIGN of the previous end
 *
 * rtmgr messages (NEWROUTE, DELROUTE, LOOKUP, FLUSH, GETSTATS):
 *  +-----------------+-----------------+-------------------------------+
 *  | nlmsghdr (16)   | rtmgr_hdr (8)   | attributes (rtm_attr.c)       |
 *  +-----------------+-----------------+-------------------------------+
 *    route:  DST GATEWAY OIF METRIC CREATED CHANGED PAD
 *            MULTIPATH { NEXTHOP { NH_GATEWAY NH_OIF NH_WEIGHT } ... }
 *    lookup: ADDR + the route attributes (none, and type UNSPEC: no match)
 *    flush:  COUNT + the filter: DST GATEWAY OIF METRIC MATCH
 *    stats:  STATS { ROUTES4 ROUTES6 MEMORY GENERATION REQUESTS ERRORS
 *                    MISSES MAX_ROUTES TABLES PAD
 *                    TABLE { TS_TABLE TS_FAMILY TS_ROUTES } ... }
 *
 * NLMSG_ERROR:
 *  +-----------+-----------+--------------------------+----------------+
 *  | nlmsghdr  | error s32 | the request's nlmsghdr   | request payload| TLVs
 *  +-----------+-----------+--------------------------+----------------+
 *   the payload only without NLM_F_CAPPED; TLVs (NLMSGERR_ATTR_MSG text,
 *   NLMSGERR_ATTR_OFFS u32, ...) only with NLM_F_ACK_TLVS.
 * NLMSG_DONE:
 *  +-----------+-----------+------+
 *  | nlmsghdr  | error s32 | TLVs |   TLVs only with NLM_F_ACK_TLVS
 *  +-----------+-----------+------+
 *
 * A message that is wrong inside becomes an RTM_KIND_MALFORMED record and
 * the walk goes on to the next one; a header that cannot be trusted (cut
 * short, or an nlmsg_len that lies) ends the walk.  Every read is checked
 * against the end of its message, every loop advances by at least 4 bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "rtm.h"

#define RTM_HDRS_LEN	(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmgr_hdr)))
#define RTM_MAX_ERRNO	4095
#define BIT(n)		(1u << (n))

/* Outcomes of a message parser beyond a finished record. */
#define PARSE_NO_ROOM	1	/* the per-table array is full: retry later */

static const char *const bad_text[__RTM_BAD_MAX] = {
	[RTM_BAD_NONE]		= "no problem",
	[RTM_BAD_TRUNCATED]	= "truncated netlink header",
	[RTM_BAD_LENGTH]	= "nlmsg_len smaller than a header or past the end of the buffer",
	[RTM_BAD_SHORT]		= "payload shorter than its fixed header",
	[RTM_BAD_ATTR]		= "attribute with a zero, short or overlong length",
	[RTM_BAD_ATTR_TYPE]	= "attribute type not carried by this message",
	[RTM_BAD_ATTR_SIZE]	= "attribute payload of the wrong size",
	[RTM_BAD_NEST]		= "bad entry in a nested attribute",
	[RTM_BAD_FAMILY]	= "address family neither AF_INET nor AF_INET6",
	[RTM_BAD_PREFIX]	= "prefix length too long or host bits set",
	[RTM_BAD_MISSING]	= "required attribute missing",
	[RTM_BAD_NEXTHOPS]	= "more next hops than RTMGR_MAX_NEXTHOPS",
	[RTM_BAD_ERRNO]		= "error number out of range",
	[RTM_BAD_ECHO]		= "length of the embedded request lies",
	[RTM_BAD_VALUE]		= "attribute value out of range",
	[RTM_BAD_TABLES]	= "more per-table statistics than the result array holds",
};

const char *rtm_bad_str(unsigned int bad)
{
	if (bad >= __RTM_BAD_MAX)
		return "unknown problem";
	return bad_text[bad];
}

/* The message being parsed. */
struct one {
	struct rtm_parser	*p;
	struct rtm_msg		*m;
	const uint8_t		*msg;	/* its nlmsghdr */
	uint32_t		len;	/* its nlmsg_len */
};

static int mark_bad(struct one *o, enum rtm_bad why, const void *where,
		    uint16_t attr)
{
	o->m->kind = RTM_KIND_MALFORMED;
	o->m->bad = why;
	o->m->bad_attr = attr;
	o->m->bad_off = where ? (uint32_t)((const uint8_t *)where - o->msg) : 0;
	return -1;
}

static int mark_bad_attr(struct one *o, enum rtm_bad why,
			 const struct nlattr *a)
{
	return mark_bad(o, why, a, rtm_attr_type(a));
}

static uint8_t get_u8(const struct nlattr *a)
{
	return *(const uint8_t *)rtm_attr_data(a);
}

static uint32_t get_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, rtm_attr_data(a), sizeof(v));
	return v;
}

static uint64_t get_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, rtm_attr_data(a), sizeof(v));
	return v;
}

/* Is the attribute's payload exactly @size bytes?  Marks the message if not. */
static int check_size(struct one *o, const struct nlattr *a, size_t size)
{
	if (rtm_attr_payload_len(a) != size)
		return mark_bad_attr(o, RTM_BAD_ATTR_SIZE, a);
	return 0;
}

/* No bits set past the prefix length. */
static int prefix_ok(const uint8_t *addr, size_t alen, unsigned int plen)
{
	size_t i;

	if (plen > alen * 8)
		return 0;
	for (i = plen / 8; i < alen; i++) {
		uint8_t host = i == plen / 8 ? 0xff >> (plen % 8) : 0xff;

		if (addr[i] & host)
			return 0;
	}
	return 1;
}

/*
 * The attributes after the rtmgr header into tb[], refusing any type not in
 * @allowed.
 */
static int parse_attrs(struct one *o, const struct nlattr **tb,
		       uint32_t allowed)
{
	const void *where = NULL;
	unsigned int t;

	if (rtm_attr_parse(o->msg + RTM_HDRS_LEN, (int)(o->len - RTM_HDRS_LEN),
			   tb, RTMGR_A_MAX, &where) < 0) {
		if (errno == EOPNOTSUPP)
			return mark_bad_attr(o, RTM_BAD_ATTR_TYPE, where);
		return mark_bad(o, RTM_BAD_ATTR, where, 0);
	}
	for (t = 0; t <= RTMGR_A_MAX; t++)
		if (tb[t] && !(allowed & BIT(t)))
			return mark_bad_attr(o, RTM_BAD_ATTR_TYPE, tb[t]);
	return 0;
}

static int parse_nexthop(struct one *o, const struct nlattr *nest,
			 size_t alen, struct rtm_nexthop *nh)
{
	const struct nlattr *tb[RTMGR_A_NH_MAX + 1];

	if (rtm_attr_type(nest) != RTMGR_A_MP_NEXTHOP ||
	    rtm_attr_parse(rtm_attr_data(nest), rtm_attr_payload_len(nest),
			   tb, RTMGR_A_NH_MAX, NULL) < 0 ||
	    tb[RTMGR_A_NH_UNSPEC])
		return mark_bad_attr(o, RTM_BAD_NEST, nest);
	memset(nh, 0, sizeof(*nh));
	if (tb[RTMGR_A_NH_GATEWAY]) {
		if (check_size(o, tb[RTMGR_A_NH_GATEWAY], alen) < 0)
			return -1;
		memcpy(nh->gateway, rtm_attr_data(tb[RTMGR_A_NH_GATEWAY]), alen);
		nh->has_gw = 1;
	}
	if (tb[RTMGR_A_NH_OIF]) {
		if (check_size(o, tb[RTMGR_A_NH_OIF], 4) < 0)
			return -1;
		nh->oif = get_u32(tb[RTMGR_A_NH_OIF]);
		nh->has_oif = 1;
	}
	if (tb[RTMGR_A_NH_WEIGHT]) {
		if (check_size(o, tb[RTMGR_A_NH_WEIGHT], 4) < 0)
			return -1;
		nh->weight = get_u32(tb[RTMGR_A_NH_WEIGHT]);
	}
	return 0;
}

static int parse_multipath(struct one *o, const struct nlattr *mp,
			   size_t alen, struct rtm_route *r)
{
	const struct nlattr *a;
	int rem = rtm_attr_payload_len(mp);

	r->multipath = 1;
	rtm_attr_for_each(a, (const struct nlattr *)rtm_attr_data(mp), rem) {
		if (r->nh_count == RTMGR_MAX_NEXTHOPS)
			return mark_bad_attr(o, RTM_BAD_NEXTHOPS, mp);
		if (parse_nexthop(o, a, alen, &r->nh[r->nh_count]) < 0)
			return -1;
		r->nh_count++;
	}
	if (rem > 0 || !r->nh_count)
		return mark_bad_attr(o, RTM_BAD_NEST, mp);
	return 0;
}

/* The route in a NEWROUTE, DELROUTE or LOOKUP message. */
static int fill_route(struct one *o, const struct rtmgr_hdr *h,
		      const struct nlattr **tb, struct rtm_route *r)
{
	size_t alen = rtm_family_addr_len(h->family);
	const struct nlattr *a;

	memset(r, 0, offsetof(struct rtm_route, nh));
	if (!alen)
		return mark_bad(o, RTM_BAD_FAMILY, o->msg + NLMSG_HDRLEN, 0);
	if (h->type > RTMGR_TYPE_MAX)
		return mark_bad(o, RTM_BAD_VALUE, o->msg + NLMSG_HDRLEN, 0);
	r->family = h->family;
	r->dst_len = h->dst_len;
	r->type = h->type;
	r->proto = h->proto;
	memcpy(&r->table, &h->table, sizeof(r->table));

	a = tb[RTMGR_A_DST];
	if (a) {
		if (check_size(o, a, alen) < 0)
			return -1;
		memcpy(r->dst, rtm_attr_data(a), alen);
	} else if (h->dst_len) {
		/* only the default route may leave its zero prefix out */
		return mark_bad(o, RTM_BAD_MISSING, NULL, RTMGR_A_DST);
	}
	if (!prefix_ok(r->dst, alen, r->dst_len))
		return mark_bad(o, RTM_BAD_PREFIX, a, RTMGR_A_DST);

	a = tb[RTMGR_A_GATEWAY];
	if (a) {
		if (check_size(o, a, alen) < 0)
			return -1;
		memcpy(r->gateway, rtm_attr_data(a), alen);
		r->has_gw = 1;
	}
	a = tb[RTMGR_A_OIF];
	if (a) {
		if (check_size(o, a, 4) < 0)
			return -1;
		r->oif = get_u32(a);
		r->has_oif = 1;
	}
	a = tb[RTMGR_A_METRIC];
	if (a) {
		if (check_size(o, a, 4) < 0)
			return -1;
		r->metric = get_u32(a);
		r->has_metric = 1;
	}
	a = tb[RTMGR_A_CREATED];
	if (a) {
		if (check_size(o, a, 8) < 0)
			return -1;
		r->created = get_u64(a);
		r->has_created = 1;
	}
	a = tb[RTMGR_A_CHANGED];
	if (a) {
		if (check_size(o, a, 8) < 0)
			return -1;
		r->changed = get_u64(a);
		r->has_changed = 1;
	}
	a = tb[RTMGR_A_MULTIPATH];
	if (a && parse_multipath(o, a, alen, r) < 0)
		return -1;
	return 0;
}

#define ROUTE_ATTRS	(BIT(RTMGR_A_DST) | BIT(RTMGR_A_GATEWAY) |	\
			 BIT(RTMGR_A_OIF) | BIT(RTMGR_A_METRIC) |	\
			 BIT(RTMGR_A_MULTIPATH) | BIT(RTMGR_A_CREATED) |	\
			 BIT(RTMGR_A_CHANGED) | BIT(RTMGR_A_PAD))
#define FILTER_ATTRS	(BIT(RTMGR_A_DST) | BIT(RTMGR_A_GATEWAY) |	\
			 BIT(RTMGR_A_OIF) | BIT(RTMGR_A_METRIC) |	\
			 BIT(RTMGR_A_MATCH))

static const struct rtmgr_hdr *rtmgr_hdr_of(struct one *o)
{
	if (o->len < RTM_HDRS_LEN) {
		mark_bad(o, RTM_BAD_SHORT, o->msg + NLMSG_HDRLEN, 0);
		return NULL;
	}
	return (const struct rtmgr_hdr *)(o->msg + NLMSG_HDRLEN);
}

static int parse_route(struct one *o)
{
	const struct nlattr *tb[RTMGR_A_MAX + 1];
	const struct rtmgr_hdr *h = rtmgr_hdr_of(o);
	struct rtm_parser *p = o->p;

	if (!h || parse_attrs(o, tb, ROUTE_ATTRS) < 0)
		return -1;
	if (fill_route(o, h, tb, &p->routes[p->n_routes]) < 0)
		return -1;
	o->m->kind = RTM_KIND_ROUTE;
	o->m->route = p->n_routes++;
	return 0;
}

static int parse_lookup(struct one *o)
{
	const struct nlattr *tb[RTMGR_A_MAX + 1];
	const struct rtmgr_hdr *h = rtmgr_hdr_of(o);
	struct rtm_parser *p = o->p;
	struct rtm_msg *m = o->m;
	size_t alen;
	unsigned int t;

	if (!h || parse_attrs(o, tb, ROUTE_ATTRS | BIT(RTMGR_A_ADDR)) < 0)
		return -1;
	alen = rtm_family_addr_len(h->family);
	if (!alen)
		return mark_bad(o, RTM_BAD_FAMILY, h, 0);
	if (!tb[RTMGR_A_ADDR])
		return mark_bad(o, RTM_BAD_MISSING, NULL, RTMGR_A_ADDR);
	if (check_size(o, tb[RTMGR_A_ADDR], alen) < 0)
		return -1;
	memcpy(m->addr, rtm_attr_data(tb[RTMGR_A_ADDR]), alen);
	m->has_addr = 1;
	m->family = h->family;
	m->kind = RTM_KIND_LOOKUP;

	if (!tb[RTMGR_A_DST] && h->type == RTMGR_TYPE_UNSPEC) {
		/* no match: the address alone */
		for (t = 0; t <= RTMGR_A_MAX; t++)
			if (tb[t] && t != RTMGR_A_ADDR && t != RTMGR_A_PAD)
				return mark_bad(o, RTM_BAD_MISSING, NULL,
						RTMGR_A_DST);
		return 0;
	}
	if (fill_route(o, h, tb, &p->routes[p->n_routes]) < 0)
		return -1;
	m->route = p->n_routes++;
	return 0;
}

static int parse_flush(struct one *o)
{
	const struct nlattr *tb[RTMGR_A_MAX + 1];
	const struct rtmgr_hdr *h = rtmgr_hdr_of(o);
	struct rtm_msg *m = o->m;
	struct rtm_filter *f = &m->filter;
	const struct nlattr *a;
	size_t alen;

	if (!h || parse_attrs(o, tb, FILTER_ATTRS | BIT(RTMGR_A_COUNT)) < 0)
		return -1;
	alen = rtm_family_addr_len(h->family);
	if (h->family != AF_UNSPEC && !alen)
		return mark_bad(o, RTM_BAD_FAMILY, h, 0);
	if (h->type > RTMGR_TYPE_MAX)
		return mark_bad(o, RTM_BAD_VALUE, h, 0);
	f->family = h->family;
	f->type = h->type;
	f->proto = h->proto;
	memcpy(&f->table, &h->table, sizeof(f->table));

	a = tb[RTMGR_A_DST];
	if (a) {
		if (!alen)
			return mark_bad(o, RTM_BAD_FAMILY, h, 0);
		if (check_size(o, a, alen) < 0)
			return -1;
		memcpy(f->dst, rtm_attr_data(a), alen);
		if (!prefix_ok(f->dst, alen, h->dst_len))
			return mark_bad_attr(o, RTM_BAD_PREFIX, a);
		f->dst_len = h->dst_len;
		f->has_dst = 1;
	}
	a = tb[RTMGR_A_GATEWAY];
	if (a) {
		if (!alen)
			return mark_bad(o, RTM_BAD_FAMILY, h, 0);
		if (check_size(o, a, alen) < 0)
			return -1;
		memcpy(f->gateway, rtm_attr_data(a), alen);
		f->has_gw = 1;
	}
	a = tb[RTMGR_A_OIF];
	if (a) {
		if (check_size(o, a, 4) < 0)
			return -1;
		f->oif = get_u32(a);
		f->has_oif = 1;
	}
	a = tb[RTMGR_A_METRIC];
	if (a) {
		if (check_size(o, a, 4) < 0)
			return -1;
		f->metric = get_u32(a);
		f->has_metric = 1;
	}
	a = tb[RTMGR_A_MATCH];
	if (a) {
		if (check_size(o, a, 1) < 0)
			return -1;
		if (get_u8(a) > RTMGR_MATCH_MAX)
			return mark_bad_attr(o, RTM_BAD_VALUE, a);
		f->match = get_u8(a);
		f->has_match = 1;
	}
	a = tb[RTMGR_A_COUNT];
	if (a) {
		if (check_size(o, a, 4) < 0)
			return -1;
		m->count = get_u32(a);
		m->has_count = 1;
	}
	m->kind = RTM_KIND_FLUSH;
	return 0;
}

static int parse_table_stats(struct one *o, const struct nlattr *nest)
{
	const struct nlattr *tb[RTMGR_A_TS_MAX + 1];
	struct rtm_parser *p = o->p;
	struct rtm_table_stats *ts;

	if (rtm_attr_parse(rtm_attr_data(nest), rtm_attr_payload_len(nest),
			   tb, RTMGR_A_TS_MAX, NULL) < 0 ||
	    tb[RTMGR_A_TS_UNSPEC] ||
	    (tb[RTMGR_A_TS_TABLE] && rtm_attr_payload_len(tb[RTMGR_A_TS_TABLE]) != 4) ||
	    (tb[RTMGR_A_TS_FAMILY] && rtm_attr_payload_len(tb[RTMGR_A_TS_FAMILY]) != 1) ||
	    (tb[RTMGR_A_TS_ROUTES] && rtm_attr_payload_len(tb[RTMGR_A_TS_ROUTES]) != 4))
		return mark_bad_attr(o, RTM_BAD_NEST, nest);
	if (p->n_tables == p->tables_max)
		return PARSE_NO_ROOM;
	ts = &p->tables[p->n_tables++];
	memset(ts, 0, sizeof(*ts));
	if (tb[RTMGR_A_TS_TABLE])
		ts->table = get_u32(tb[RTMGR_A_TS_TABLE]);
	if (tb[RTMGR_A_TS_FAMILY])
		ts->family = get_u8(tb[RTMGR_A_TS_FAMILY]);
	if (tb[RTMGR_A_TS_ROUTES])
		ts->routes = get_u32(tb[RTMGR_A_TS_ROUTES]);
	return 0;
}

/* Expected payload size of each RTMGR_A_STATS_* (-1: nested, -2: any). */
static const int stats_size[RTMGR_A_STATS_MAX + 1] = {
	[RTMGR_A_STATS_UNSPEC]		= 0,
	[RTMGR_A_STATS_ROUTES4]		= 4,
	[RTMGR_A_STATS_ROUTES6]		= 4,
	[RTMGR_A_STATS_TABLE]		= -1,
	[RTMGR_A_STATS_MEMORY]		= 8,
	[RTMGR_A_STATS_GENERATION]	= 8,
	[RTMGR_A_STATS_REQUESTS]	= 8,
	[RTMGR_A_STATS_ERRORS]		= 8,
	[RTMGR_A_STATS_MAX_ROUTES]	= 4,
	[RTMGR_A_STATS_PAD]		= -2,
	[RTMGR_A_STATS_MISSES]		= 8,
	[RTMGR_A_STATS_TABLES]		= 4,
};

static int parse_stats(struct one *o)
{
	const struct nlattr *tb[RTMGR_A_MAX + 1];
	const struct rtmgr_hdr *h = rtmgr_hdr_of(o);
	struct rtm_parser *p = o->p;
	struct rtm_stats *s = &p->stats[p->n_stats];
	const struct nlattr *a;
	int rem, ret;

	if (!h || parse_attrs(o, tb, BIT(RTMGR_A_STATS) | BIT(RTMGR_A_PAD)) < 0)
		return -1;
	if (!tb[RTMGR_A_STATS])
		return mark_bad(o, RTM_BAD_MISSING, NULL, RTMGR_A_STATS);
	memset(s, 0, sizeof(*s));
	s->table_first = p->n_tables;
	rem = rtm_attr_payload_len(tb[RTMGR_A_STATS]);
	rtm_attr_for_each(a, (const struct nlattr *)rtm_attr_data(tb[RTMGR_A_STATS]), rem) {
		uint16_t t = rtm_attr_type(a);

		if (t == RTMGR_A_STATS_UNSPEC || t > RTMGR_A_STATS_MAX)
			return mark_bad_attr(o, RTM_BAD_NEST, a);
		if (stats_size[t] >= 0 &&
		    rtm_attr_payload_len(a) != stats_size[t])
			return mark_bad_attr(o, RTM_BAD_NEST, a);
		switch (t) {
		case RTMGR_A_STATS_ROUTES4:
			s->routes4 = get_u32(a);
			break;
		case RTMGR_A_STATS_ROUTES6:
			s->routes6 = get_u32(a);
			break;
		case RTMGR_A_STATS_MAX_ROUTES:
			s->max_routes = get_u32(a);
			break;
		case RTMGR_A_STATS_MEMORY:
			s->memory = get_u64(a);
			break;
		case RTMGR_A_STATS_GENERATION:
			s->generation = get_u64(a);
			break;
		case RTMGR_A_STATS_REQUESTS:
			s->requests = get_u64(a);
			break;
		case RTMGR_A_STATS_ERRORS:
			s->errors = get_u64(a);
			break;
		case RTMGR_A_STATS_MISSES:
			s->misses = get_u64(a);
			break;
		case RTMGR_A_STATS_TABLES:
			s->tables = get_u32(a);
			break;
		case RTMGR_A_STATS_TABLE:
			ret = parse_table_stats(o, a);
			if (ret)
				return ret;
			break;
		}
	}
	if (rem > 0)
		return mark_bad(o, RTM_BAD_NEST, a, RTMGR_A_STATS);
	s->table_count = p->n_tables - s->table_first;
	o->m->kind = RTM_KIND_STATS;
	o->m->stats = p->n_stats++;
	return 0;
}

/* NLMSG_ERROR and NLMSG_DONE TLVs: the text and the offset. */
static int parse_ack_tlvs(struct one *o, uint32_t start)
{
	const struct nlattr *a;
	int rem;

	if (!(o->m->flags & NLM_F_ACK_TLVS) || start >= o->len)
		return 0;
	rem = o->len - start;
	rtm_attr_for_each(a, (const struct nlattr *)(o->msg + start), rem) {
		const char *text = rtm_attr_data(a);

		switch (rtm_attr_type(a)) {
		case NLMSGERR_ATTR_MSG:
			o->m->ext_ack_off = o->m->off + (uint32_t)((const uint8_t *)text - o->msg);
			o->m->ext_ack_len = strnlen(text, rtm_attr_payload_len(a));
			break;
		case NLMSGERR_ATTR_OFFS:
			if (check_size(o, a, 4) < 0)
				return -1;
			o->m->err_off = get_u32(a);
			o->m->has_err_off = 1;
			break;
		}
		/* cookies, policies and newer TLVs are not ours to read */
	}
	if (rem > 0)
		return mark_bad(o, RTM_BAD_ATTR, a, 0);
	return 0;
}

static int check_errno(struct one *o, int32_t err)
{
	if (err > 0 || err < -RTM_MAX_ERRNO)
		return mark_bad(o, RTM_BAD_ERRNO, o->msg + NLMSG_HDRLEN, 0);
	o->m->error = -err;
	return 0;
}

static int parse_error(struct one *o)
{
	struct rtm_msg *m = o->m;
	struct nlmsghdr req;
	uint32_t tlvs;
	int32_t err;

	if (o->len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
		return mark_bad(o, RTM_BAD_SHORT, o->msg + NLMSG_HDRLEN, 0);
	memcpy(&err, o->msg + NLMSG_HDRLEN, sizeof(err));
	memcpy(&req, o->msg + NLMSG_HDRLEN + sizeof(err), sizeof(req));
	m->req_len = req.nlmsg_len;
	m->req_type = req.nlmsg_type;
	m->req_flags = req.nlmsg_flags;
	m->req_seq = req.nlmsg_seq;
	m->req_pid = req.nlmsg_pid;
	m->kind = err ? RTM_KIND_ERROR : RTM_KIND_ACK;
	if (check_errno(o, err) < 0)
		return -1;
	if (m->flags & NLM_F_CAPPED) {
		tlvs = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	} else {
		/* the whole request follows the errno */
		if (req.nlmsg_len < NLMSG_HDRLEN ||
		    req.nlmsg_len > o->len - NLMSG_HDRLEN - sizeof(err))
			return mark_bad(o, RTM_BAD_ECHO,
					o->msg + NLMSG_HDRLEN + sizeof(err), 0);
		tlvs = NLMSG_HDRLEN + sizeof(err) + NLMSG_ALIGN(req.nlmsg_len);
	}
	return parse_ack_tlvs(o, tlvs);
}

static int parse_done(struct one *o)
{
	int32_t err = 0;

	o->m->kind = RTM_KIND_DONE;
	if (o->len == NLMSG_HDRLEN)
		return 0;
	if (o->len < NLMSG_HDRLEN + sizeof(err))
		return mark_bad(o, RTM_BAD_SHORT, o->msg + NLMSG_HDRLEN, 0);
	memcpy(&err, o->msg + NLMSG_HDRLEN, sizeof(err));
	if (check_errno(o, err) < 0)
		return -1;
	return parse_ack_tlvs(o, NLMSG_HDRLEN + sizeof(err));
}

static int parse_one(struct one *o)
{
	switch (o->m->type) {
	case NLMSG_ERROR:
		return parse_error(o);
	case NLMSG_DONE:
		return parse_done(o);
	case RTMGR_MSG_NEWROUTE:
	case RTMGR_MSG_DELROUTE:
		return parse_route(o);
	case RTMGR_MSG_LOOKUP:
		return parse_lookup(o);
	case RTMGR_MSG_FLUSH:
		return parse_flush(o);
	case RTMGR_MSG_GETSTATS:
		return parse_stats(o);
	}
	o->m->kind = RTM_KIND_OTHER;
	return 0;
}

long rtm_parse(struct rtm_parser *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t off = 0;

	if (!p || !p->msgs || !p->routes || !p->stats || !p->msgs_max ||
	    !p->routes_max || !p->stats_max || (p->tables_max && !p->tables) ||
	    (len && !buf) || ((uintptr_t)buf & (NLMSG_ALIGNTO - 1)) ||
	    len > INT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	p->n_msgs = p->n_routes = p->n_stats = p->n_tables = 0;

	while (off < len) {
		size_t rest = len - off;
		struct nlmsghdr nlh;
		struct one o;
		int ret;

		/* room for this message's record, route and stats */
		if (p->n_msgs == p->msgs_max || p->n_routes == p->routes_max ||
		    p->n_stats == p->stats_max)
			break;
		o.p = p;
		o.m = &p->msgs[p->n_msgs++];
		o.msg = b + off;
		memset(o.m, 0, sizeof(*o.m));
		o.m->off = off;
		o.m->route = -1;
		o.m->stats = -1;
		if (rest < NLMSG_HDRLEN) {
			mark_bad(&o, RTM_BAD_TRUNCATED, NULL, 0);
			off = len;
			break;
		}
		memcpy(&nlh, o.msg, sizeof(nlh));
		o.len = nlh.nlmsg_len;
		o.m->len = nlh.nlmsg_len;
		o.m->type = nlh.nlmsg_type;
		o.m->flags = nlh.nlmsg_flags;
		o.m->seq = nlh.nlmsg_seq;
		o.m->pid = nlh.nlmsg_pid;
		if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > rest) {
			mark_bad(&o, RTM_BAD_LENGTH, NULL, 0);
			off = len;
			break;
		}

		{
			unsigned int tables = p->n_tables;

			ret = parse_one(&o);
			if (ret == PARSE_NO_ROOM) {
				p->n_tables = tables;
				if (p->n_msgs > 1) {
					/* again, from this message, next call */
					p->n_msgs--;
					break;
				}
				mark_bad(&o, RTM_BAD_TABLES, NULL,
					 RTMGR_A_STATS_TABLE);
			}
			if (o.m->kind == RTM_KIND_MALFORMED)
				p->n_tables = tables;
		}
		off += NLMSG_ALIGN(nlh.nlmsg_len);
		if (off > len)
			off = len;
	}
	return off;
}
