// SPDX-License-Identifier: GPL-2.0
/*
 * Multicast notifications of route changes (group RTMGR_GRP_ROUTE).
 *
 * Notifications carry the port id and sequence number of the request that
 * caused them, and go out only when someone listens (or the requester asked
 * for an echo).  A request's own kernel socket (skb->sk) sends them; the
 * kernel's own changes use the namespace's.  The messages themselves are
 * encode.c's.
 */
#include <net/netlink.h>
#include <net/sock.h>

#include "rtmgr.h"

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

/* The request's sequence number (0: a change of the kernel's own). */
static u32 event_seq(const struct rtmgr_event *ev)
{
	return ev->nlh ? ev->nlh->nlmsg_seq : 0;
}

/*
 * After the change: send what was prepared, or report the loss.  fill_err
 * is what putting the message in the prepared skb returned; it fails only
 * if the size it was prepared with is wrong.
 */
static void event_send(struct rtmgr_event *ev, int fill_err)
{
	if (WARN_ON_ONCE(fill_err)) {
		rtmgr_event_cancel(ev);
		ev->lost = true;
	}
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
	int err = 0;

	if (ev->skb)
		err = rtmgr_fill_route(ev->skb, msgtype, ev->portid,
				       event_seq(ev), flags, k->table, k->fam,
				       k->addr, k->plen, r, NULL);
	event_send(ev, err);
}

/* A flush removed count routes (none: nothing is sent). */
void rtmgr_event_flush(struct rtmgr_event *ev, const struct rtmgr_filter *f,
		       unsigned int count)
{
	int err = 0;

	if (!count) {
		rtmgr_event_cancel(ev);
		return;
	}
	if (ev->skb)
		err = rtmgr_fill_flush(ev->skb, ev->portid, event_seq(ev), f,
				       count);
	event_send(ev, err);
}
