// SPDX-License-Identifier: GPL-2.0
/*
 * Route messages and multicast notifications.
 *
 * A route on the wire (replies, dump elements, notifications):
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
 * Notifications carry the port id and sequence number of the request that
 * caused them, and go out only when someone listens (or the requester asked
 * for an echo).  A request's own kernel socket (skb->sk) sends them; the
 * kernel's own changes use the namespace's.
 */
#include <net/netlink.h>
#include <net/sock.h>

#include "rtmgr.h"

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

int rtmgr_fill_filter(struct sk_buff *skb, const struct rtmgr_filter *f)
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

/*
 * Before a change: allocate its notification if anyone wants it (listeners
 * of RTMGR_GRP_ROUTE, or the requester with NLM_F_ECHO).  Fails only when
 * the echo cannot be allocated; without an echo, a failed allocation makes
 * the event "lost" and the listeners learn it from ENOBUFS.
 */
int rtmgr_event_prepare(struct rtmgr_event *ev, struct sock *sk, size_t size,
			u32 portid, const struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack)
{
	bool echo = nlh && nlmsg_report(nlh);

	ev->sk = sk;
	ev->skb = NULL;
	ev->nlh = nlh;
	ev->portid = portid;
	ev->lost = false;
	if (!echo && !netlink_has_listeners(sk, RTMGR_GRP_ROUTE))
		return 0;
	if (!rtmgr_fail_notify())
		ev->skb = rtmgr_alloc(nlmsg_new(size, GFP_KERNEL));
	if (ev->skb)
		return 0;
	if (echo) {
		NL_SET_ERR_MSG(extack,
			       "no memory for the NLM_F_ECHO reply; nothing changed");
		return -ENOMEM;
	}
	ev->lost = true;
	return 0;
}

/* The change did not happen after all. */
void rtmgr_event_cancel(struct rtmgr_event *ev)
{
	kfree_skb(ev->skb);
	ev->skb = NULL;
	ev->lost = false;
}

/* After the change: send what was prepared, or report the loss. */
static void event_send(struct rtmgr_event *ev)
{
	if (ev->skb) {
		nlmsg_notify(ev->sk, ev->skb, ev->portid, RTMGR_GRP_ROUTE,
			     ev->nlh ? nlmsg_report(ev->nlh) : 0, GFP_KERNEL);
		ev->skb = NULL;
	} else if (ev->lost) {
		/* a negative code: netlink_set_err() reports -code */
		netlink_set_err(ev->sk, 0, RTMGR_GRP_ROUTE, -ENOBUFS);
		ev->lost = false;
	}
}

/* A route was added, changed or removed (r: as it is now, or as it was). */
void rtmgr_event_route(struct rtmgr_event *ev, int msgtype, u16 flags,
		       const struct rtmgr_key *k, const struct rtmgr_route *r)
{
	if (ev->skb &&
	    WARN_ON_ONCE(rtmgr_fill_route(ev->skb, msgtype, ev->portid,
					  ev->nlh ? ev->nlh->nlmsg_seq : 0,
					  flags, k->table, k->fam, k->addr,
					  k->plen, r, NULL))) {
		/* rtmgr_route_msg_size is wrong */
		rtmgr_event_cancel(ev);
		ev->lost = true;
	}
	event_send(ev);
}

/* A flush removed count routes (none: nothing is sent). */
void rtmgr_event_flush(struct rtmgr_event *ev, const struct rtmgr_filter *f,
		       unsigned int count)
{
	struct rtmgr_hdr *hdr;
	struct nlmsghdr *onlh;

	if (!count) {
		rtmgr_event_cancel(ev);
		return;
	}
	if (!ev->skb)
		goto send;
	onlh = nlmsg_put(ev->skb, ev->portid, ev->nlh ? ev->nlh->nlmsg_seq : 0,
			 RTMGR_MSG_FLUSH, sizeof(*hdr), 0);
	if (WARN_ON_ONCE(!onlh))
		goto lost;
	hdr = nlmsg_data(onlh);
	memset(hdr, 0, sizeof(*hdr));
	hdr->family = f->family;
	hdr->dst_len = f->dst_len;
	hdr->type = f->type;
	hdr->proto = f->proto;
	hdr->table = f->table;
	if (WARN_ON_ONCE(rtmgr_fill_filter(ev->skb, f) ||
			 nla_put_u32(ev->skb, RTMGR_A_COUNT, count)))
		goto lost;
	nlmsg_end(ev->skb, onlh);
send:
	event_send(ev);
	return;
lost:
	rtmgr_event_cancel(ev);
	ev->lost = true;
	event_send(ev);
}
