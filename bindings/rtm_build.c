// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtm_build.c: one builder per rtmgr request, and the batch.
 *
 * Every request is laid out like this (byte offsets, host byte order for
 * the numbers, network byte order for the addresses):
 *
 *   0                   4         6         8                  12        16
 *  +-------------------+---------+---------+-------------------+----------+
 *  | nlmsg_len         | type    | flags   | nlmsg_seq         | pid (0)  |  struct nlmsghdr
 *  +---------+---------+---------+---------+-------------------+----------+
 *  | family  | dst_len | type    | proto   | table             |             struct rtmgr_hdr
 *  +---------+---------+---------+---------+-------------------+
 *  24: attributes (rtm_attr.c), e.g. a multipath route:
 *  +-------------------+---------------------------------------------------+
 *  | 8, RTMGR_A_DST    | 10.0.0.0                                          |
 *  | len, NESTED|MULTIPATH                                                 |
 *  |   | len, NESTED|MP_NEXTHOP                                           |
 *  |   |   | 8, NH_GATEWAY | 192.0.2.1 |  8, NH_OIF | 2 |  8, NH_WEIGHT | 1 |
 *  |   | len, NESTED|MP_NEXTHOP ...                                       |
 *  | 8, RTMGR_A_METRIC | 100                                               |
 *  +-----------------------------------------------------------------------+
 *
 * A batch is such messages back to back, each at an NLMSG_ALIGN boundary;
 * the kernel answers each in order.  Sent without NLM_F_ACK, a request is
 * answered only when it fails; rtm_batch_ack_last() then asks for one ACK,
 * of the last message, which comes after every error of the batch.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "rtm.h"

#define RTM_HDRS_LEN	(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmgr_hdr)))

/* Address length of a route family, 0 for anything else. */
static struct nlmsghdr *msg_start(void *buf, size_t buflen, uint16_t type,
				  uint16_t flags, uint32_t seq,
				  struct rtmgr_hdr **hdr)
{
	struct nlmsghdr *nlh = buf;

	if (!buf || buflen < RTM_HDRS_LEN) {
		errno = EMSGSIZE;
		return NULL;
	}
	memset(buf, 0, RTM_HDRS_LEN);
	nlh->nlmsg_len = RTM_HDRS_LEN;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	*hdr = (struct rtmgr_hdr *)((uint8_t *)buf + NLMSG_HDRLEN);
	return nlh;
}

static int put_nexthop(struct nlmsghdr *nlh, size_t buflen, size_t alen,
		       const struct rtm_nexthop *nh)
{
	struct nlattr *nest;

	nest = rtm_attr_nest_start(nlh, buflen, RTMGR_A_MP_NEXTHOP);
	if (!nest)
		return -1;
	if (nh->has_gw &&
	    rtm_attr_put(nlh, buflen, RTMGR_A_NH_GATEWAY, alen, nh->gateway) < 0)
		return -1;
	if (nh->has_oif &&
	    rtm_attr_put_u32(nlh, buflen, RTMGR_A_NH_OIF, nh->oif) < 0)
		return -1;
	if (nh->weight &&
	    rtm_attr_put_u32(nlh, buflen, RTMGR_A_NH_WEIGHT, nh->weight) < 0)
		return -1;
	rtm_attr_nest_end(nlh, nest);
	return 0;
}

static int put_multipath(struct nlmsghdr *nlh, size_t buflen, size_t alen,
			 const struct rtm_route *r)
{
	struct nlattr *nest;
	unsigned int i;

	nest = rtm_attr_nest_start(nlh, buflen, RTMGR_A_MULTIPATH);
	if (!nest)
		return -1;
	for (i = 0; i < r->nh_count; i++)
		if (put_nexthop(nlh, buflen, alen, &r->nh[i]) < 0)
			return -1;
	rtm_attr_nest_end(nlh, nest);
	return 0;
}

int rtm_build_route(void *buf, size_t buflen, uint16_t type, uint16_t flags,
		    uint32_t seq, const struct rtm_route *r)
{
	size_t alen = rtm_family_addr_len(r->family);
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	if ((type != RTMGR_MSG_NEWROUTE && type != RTMGR_MSG_DELROUTE) ||
	    !alen || r->dst_len > alen * 8 ||
	    (type == RTMGR_MSG_DELROUTE && r->nh_count)) {
		errno = EINVAL;
		return -1;
	}
	if (r->nh_count > RTMGR_MAX_NEXTHOPS) {
		errno = E2BIG;
		return -1;
	}
	nlh = msg_start(buf, buflen, type, flags, seq, &hdr);
	if (!nlh)
		return -1;
	hdr->family = r->family;
	hdr->dst_len = r->dst_len;
	hdr->type = r->type;
	hdr->proto = r->proto;
	hdr->table = r->table;

	if (rtm_attr_put(nlh, buflen, RTMGR_A_DST, alen, r->dst) < 0)
		return -1;
	if (r->nh_count) {
		if (put_multipath(nlh, buflen, alen, r) < 0)
			return -1;
	} else {
		if (r->has_gw &&
		    rtm_attr_put(nlh, buflen, RTMGR_A_GATEWAY, alen,
				 r->gateway) < 0)
			return -1;
		if (r->has_oif &&
		    rtm_attr_put_u32(nlh, buflen, RTMGR_A_OIF, r->oif) < 0)
			return -1;
	}
	if (r->has_metric &&
	    rtm_attr_put_u32(nlh, buflen, RTMGR_A_METRIC, r->metric) < 0)
		return -1;
	return nlh->nlmsg_len;
}

int rtm_build_get(void *buf, size_t buflen, uint32_t seq, int ack,
		  uint8_t family, const void *dst, uint8_t dst_len,
		  uint32_t table, uint32_t metric, int has_metric)
{
	size_t alen = rtm_family_addr_len(family);
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	if (!alen || dst_len > alen * 8) {
		errno = EINVAL;
		return -1;
	}
	nlh = msg_start(buf, buflen, RTMGR_MSG_GETROUTE,
			NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq, &hdr);
	if (!nlh)
		return -1;
	hdr->family = family;
	hdr->dst_len = dst_len;
	hdr->table = table;
	if (rtm_attr_put(nlh, buflen, RTMGR_A_DST, alen, dst) < 0)
		return -1;
	if (has_metric && rtm_attr_put_u32(nlh, buflen, RTMGR_A_METRIC, metric) < 0)
		return -1;
	return nlh->nlmsg_len;
}

/* The dump filter and the flush filter are the same header and attributes. */
static int build_filtered(void *buf, size_t buflen, uint16_t type,
			  uint16_t flags, uint32_t seq,
			  const struct rtm_filter *f)
{
	static const struct rtm_filter any;
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;
	size_t alen;

	if (!f)
		f = &any;
	alen = rtm_family_addr_len(f->family);
	if ((f->family != AF_UNSPEC && !alen) ||
	    ((f->has_dst || f->has_gw) && !alen) ||
	    (f->has_dst && f->dst_len > alen * 8)) {
		errno = EINVAL;
		return -1;
	}
	nlh = msg_start(buf, buflen, type, flags, seq, &hdr);
	if (!nlh)
		return -1;
	hdr->family = f->family;
	hdr->dst_len = f->has_dst ? f->dst_len : 0;
	hdr->type = f->type;
	hdr->proto = f->proto;
	hdr->table = f->table;
	if (f->has_dst &&
	    rtm_attr_put(nlh, buflen, RTMGR_A_DST, alen, f->dst) < 0)
		return -1;
	if (f->has_gw &&
	    rtm_attr_put(nlh, buflen, RTMGR_A_GATEWAY, alen, f->gateway) < 0)
		return -1;
	if (f->has_oif &&
	    rtm_attr_put_u32(nlh, buflen, RTMGR_A_OIF, f->oif) < 0)
		return -1;
	if (f->has_metric &&
	    rtm_attr_put_u32(nlh, buflen, RTMGR_A_METRIC, f->metric) < 0)
		return -1;
	if (f->has_match &&
	    rtm_attr_put_u8(nlh, buflen, RTMGR_A_MATCH, f->match) < 0)
		return -1;
	return nlh->nlmsg_len;
}

int rtm_build_dump(void *buf, size_t buflen, uint32_t seq,
		   const struct rtm_filter *filter)
{
	return build_filtered(buf, buflen, RTMGR_MSG_GETROUTE,
			      NLM_F_REQUEST | NLM_F_DUMP, seq, filter);
}

int rtm_build_flush(void *buf, size_t buflen, uint32_t seq, int ack,
		    const struct rtm_filter *filter)
{
	return build_filtered(buf, buflen, RTMGR_MSG_FLUSH,
			      NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq,
			      filter);
}

int rtm_build_lookup(void *buf, size_t buflen, uint32_t seq, int ack,
		     uint8_t family, const void *addr, uint32_t table)
{
	size_t alen = rtm_family_addr_len(family);
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	if (!alen) {
		errno = EINVAL;
		return -1;
	}
	nlh = msg_start(buf, buflen, RTMGR_MSG_LOOKUP,
			NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq, &hdr);
	if (!nlh)
		return -1;
	hdr->family = family;
	hdr->table = table;
	if (rtm_attr_put(nlh, buflen, RTMGR_A_ADDR, alen, addr) < 0)
		return -1;
	return nlh->nlmsg_len;
}

int rtm_build_lookup_many(void *buf, size_t buflen, uint32_t seq,
			  uint8_t family, const void *addrs,
			  unsigned int count, uint32_t table)
{
	size_t alen = rtm_family_addr_len(family);
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	if (!alen || !count) {
		errno = EINVAL;
		return -1;
	}
	if (count > RTMGR_MAX_LOOKUP_ADDRS) {
		errno = E2BIG;
		return -1;
	}
	nlh = msg_start(buf, buflen, RTMGR_MSG_LOOKUP,
			NLM_F_REQUEST | NLM_F_DUMP, seq, &hdr);
	if (!nlh)
		return -1;
	hdr->family = family;
	hdr->table = table;
	if (rtm_attr_put(nlh, buflen, RTMGR_A_ADDRS, alen * count, addrs) < 0)
		return -1;
	return nlh->nlmsg_len;
}

int rtm_build_stats(void *buf, size_t buflen, uint32_t seq, int ack, int dump)
{
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	nlh = msg_start(buf, buflen, RTMGR_MSG_GETSTATS,
			NLM_F_REQUEST | (ack ? NLM_F_ACK : 0) |
			(dump ? NLM_F_DUMP : 0), seq, &hdr);
	if (!nlh)
		return -1;
	return nlh->nlmsg_len;
}

void rtm_batch_init(struct rtm_batch *batch, void *buf, size_t size)
{
	batch->buf = buf;
	batch->size = size;
	batch->len = 0;
	batch->last = 0;
	batch->count = 0;
}

void rtm_batch_reset(struct rtm_batch *batch)
{
	batch->len = 0;
	batch->last = 0;
	batch->count = 0;
}

int rtm_batch_add_route(struct rtm_batch *batch, uint16_t type,
			uint16_t flags, uint32_t seq,
			const struct rtm_route *route)
{
	int len;

	len = rtm_build_route(batch->buf + batch->len, batch->size - batch->len,
			      type, flags, seq, route);
	if (len >= 0) {
		batch->last = batch->len;
		batch->len += NLMSG_ALIGN(len);
		batch->count++;
		return 0;
	}
	if (errno == EMSGSIZE && batch->count)
		return 1;
	return -1;
}

int rtm_batch_add_hop(struct rtm_batch *batch, uint16_t type, uint16_t flags,
		      uint32_t seq, uint8_t family, uint8_t dst_len,
		      uint8_t rtype, uint8_t proto, uint32_t table,
		      const void *dst, const void *gw, uint32_t oif,
		      int has_oif, uint32_t metric, int has_metric)
{
	size_t alen = rtm_family_addr_len(family);
	struct rtm_route r;	/* rtm_build_route reads nh[] only if nh_count */

	if (!alen || !dst) {
		errno = EINVAL;
		return -1;
	}
	r.family = family;
	r.dst_len = dst_len;
	r.type = rtype;
	r.proto = proto;
	r.table = table;
	memcpy(r.dst, dst, alen);
	r.has_gw = gw != NULL;
	if (gw)
		memcpy(r.gateway, gw, alen);
	r.has_oif = !!has_oif;
	r.oif = oif;
	r.has_metric = !!has_metric;
	r.metric = metric;
	r.nh_count = 0;
	return rtm_batch_add_route(batch, type, flags, seq, &r);
}

int rtm_batch_ack_last(struct rtm_batch *batch)
{
	struct nlmsghdr *nlh;

	if (!batch->count) {
		errno = EINVAL;
		return -1;
	}
	nlh = (struct nlmsghdr *)(batch->buf + batch->last);
	nlh->nlmsg_flags |= NLM_F_ACK;
	return 0;
}
