// SPDX-License-Identifier: GPL-2.0
/*
 * The messages the module sends: every route it answers with (get, lookup,
 * dump and bulk lookup elements, notifications) and the FLUSH notification.
 * Each message is put whole or not at all: on -EMSGSIZE the skb is left as
 * it was, so a dump can end its skb there and go on in the next.
 *
 * A route on the wire:
 *
 *   struct nlmsghdr   type NEWROUTE / DELROUTE / LOOKUP
 *   struct rtmgr_hdr  family, dst_len, type, proto, table
 *   RTMGR_A_DST       4 / 16 bytes
 *   RTMGR_A_GATEWAY   4 / 16 bytes  \  one next hop
 *   RTMGR_A_OIF       u32           /
 *   RTMGR_A_MULTIPATH nest { NEXTHOP nest { GATEWAY, OIF, WEIGHT } ... }
 *   RTMGR_A_METRIC    u32
 *   RTMGR_A_CREATED   u64 (after RTMGR_A_PAD as needed)
 *   RTMGR_A_CHANGED   u64
 *   RTMGR_A_ADDR      4 / 16 bytes  (lookup answers only)
 *
 * A flush notification:
 *
 *   struct nlmsghdr   type FLUSH
 *   struct rtmgr_hdr  the filter's family, dst_len, type, proto, table
 *   RTMGR_A_DST, RTMGR_A_MATCH, RTMGR_A_GATEWAY, RTMGR_A_OIF, RTMGR_A_METRIC
 *                     the filter's, those it has
 *   RTMGR_A_COUNT     u32, the routes it removed
 */
#include <net/netlink.h>

#include "rtmgr.h"

/* The room a message of r takes at most, whatever its type. */
size_t rtmgr_route_msg_size(const struct rtmgr_route *r)
{
	size_t addr = nla_total_size(RTMGR_ADDR_MAX);
	size_t nh = nla_total_size(0) + addr + 2 * nla_total_size(4);

	return NLMSG_ALIGN(sizeof(struct rtmgr_hdr))
		+ addr					/* DST */
		+ addr + nla_total_size(4)		/* GATEWAY, OIF */
		+ nla_total_size(0) + r->nh_count * nh	/* MULTIPATH */
		+ nla_total_size(4)			/* METRIC */
		+ 2 * nla_total_size_64bit(8)		/* CREATED, CHANGED */
		+ addr;					/* ADDR */
}

static int put_nexthops(struct sk_buff *skb, int fam,
			const struct rtmgr_route *r)
{
	unsigned int len = rtmgr_addr_len(fam), i;
	const struct rtmgr_nh *nh;
	struct nlattr *mp, *one;

	if (r->nh_count == 1) {
		nh = &r->nh[0];
		if (nh->has_gw && nla_put(skb, RTMGR_A_GATEWAY, len, nh->gw))
			return -EMSGSIZE;
		if (nh->oif && nla_put_u32(skb, RTMGR_A_OIF, nh->oif))
			return -EMSGSIZE;
		return 0;
	}
	if (!r->nh_count)
		return 0;
	mp = nla_nest_start(skb, RTMGR_A_MULTIPATH);
	if (!mp)
		return -EMSGSIZE;
	for (i = 0; i < r->nh_count; i++) {
		nh = &r->nh[i];
		one = nla_nest_start(skb, RTMGR_A_MP_NEXTHOP);
		if (!one ||
		    (nh->has_gw && nla_put(skb, RTMGR_A_NH_GATEWAY, len, nh->gw)) ||
		    (nh->oif && nla_put_u32(skb, RTMGR_A_NH_OIF, nh->oif)) ||
		    nla_put_u32(skb, RTMGR_A_NH_WEIGHT, nh->weight))
			return -EMSGSIZE;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, mp);
	return 0;
}

/*
 * Put one route message.  r may be NULL only for a lookup miss (then
 * lookup_addr is set).  On -EMSGSIZE the skb is as it was.
 */
int rtmgr_fill_route(struct sk_buff *skb, int msgtype, u32 portid, u32 seq,
		     u16 flags, u32 table, int fam, const u8 *key, u8 plen,
		     const struct rtmgr_route *r, const u8 *lookup_addr)
{
	unsigned int len = rtmgr_addr_len(fam);
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, msgtype, sizeof(*hdr), flags);
	if (!nlh)
		return -EMSGSIZE;
	hdr = nlmsg_data(nlh);
	memset(hdr, 0, sizeof(*hdr));
	hdr->family = rtmgr_fam_af(fam);
	hdr->table = table;
	if (r) {
		hdr->dst_len = plen;
		hdr->type = r->type;
		hdr->proto = r->proto;
		if (nla_put(skb, RTMGR_A_DST, len, key) ||
		    put_nexthops(skb, fam, r) ||
		    nla_put_u32(skb, RTMGR_A_METRIC, r->metric) ||
		    nla_put_u64_64bit(skb, RTMGR_A_CREATED, r->created,
				      RTMGR_A_PAD) ||
		    nla_put_u64_64bit(skb, RTMGR_A_CHANGED, r->changed,
				      RTMGR_A_PAD))
			goto cancel;
	}
	if (lookup_addr && nla_put(skb, RTMGR_A_ADDR, len, lookup_addr))
		goto cancel;
	nlmsg_end(skb, nlh);
	return 0;
cancel:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

/* A filter's attributes, those it has. */
static int fill_filter(struct sk_buff *skb, const struct rtmgr_filter *f)
{
	unsigned int len = f->family == AF_INET6 ? 16 : 4;

	if (f->has_dst && (nla_put(skb, RTMGR_A_DST, len, f->dst) ||
			   nla_put_u8(skb, RTMGR_A_MATCH, f->match)))
		return -EMSGSIZE;
	if (f->has_gw && nla_put(skb, RTMGR_A_GATEWAY, len, f->gw))
		return -EMSGSIZE;
	if (f->has_oif && nla_put_u32(skb, RTMGR_A_OIF, f->oif))
		return -EMSGSIZE;
	if (f->has_metric && nla_put_u32(skb, RTMGR_A_METRIC, f->metric))
		return -EMSGSIZE;
	return 0;
}

/* The FLUSH notification: header, the filter, the count. */
size_t rtmgr_flush_msg_size(void)
{
	size_t addr = nla_total_size(RTMGR_ADDR_MAX);

	return NLMSG_ALIGN(sizeof(struct rtmgr_hdr))
		+ addr + nla_total_size(1)	/* DST, MATCH */
		+ addr				/* GATEWAY */
		+ 3 * nla_total_size(4);	/* OIF, METRIC, COUNT */
}

/* The FLUSH notification of a flush by f that removed count routes. */
int rtmgr_fill_flush(struct sk_buff *skb, u32 portid, u32 seq,
		     const struct rtmgr_filter *f, unsigned int count)
{
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *nlh;

	nlh = nlmsg_put(skb, portid, seq, RTMGR_MSG_FLUSH, sizeof(*hdr), 0);
	if (!nlh)
		return -EMSGSIZE;
	hdr = nlmsg_data(nlh);
	memset(hdr, 0, sizeof(*hdr));
	hdr->family = f->family;
	hdr->dst_len = f->dst_len;
	hdr->type = f->type;
	hdr->proto = f->proto;
	hdr->table = f->table;
	if (fill_filter(skb, f) || nla_put_u32(skb, RTMGR_A_COUNT, count)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}
