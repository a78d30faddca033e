// SPDX-License-Identifier: GPL-2.0
/*
 * Routes go with their devices.  When a device is unregistered (removed,
 * or moved to another namespace), every route whose only next hops use it
 * is deleted and every multipath route loses the next hops through it;
 * each change is notified like any other, with port id and sequence 0.
 *
 * The notifier runs under RTNL, so its cost is every RTNL user's: table.c
 * counts next hops per device, and a device no route uses is done at once.
 * Like the FIB (fib_sync_down_dev then fib_flush), a device that is used
 * costs a walk of the namespace's routes, which yields as it goes.
 */
#include <linux/netdevice.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <net/net_namespace.h>

#include "rtmgr.h"
#include "trie.h"

static bool rtmgr_exiting;

static unsigned int hops_not_via(const struct rtmgr_route *r, u32 ifindex)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->nh_count; i++)
		n += r->nh[i].oif != ifindex;
	return n;
}

/* The route without its next hops via ifindex, or NULL on -ENOMEM. */
static struct rtmgr_route *route_without(const struct rtmgr_route *old,
					 unsigned int keep, u32 ifindex)
{
	struct rtmgr_route *r = rtmgr_route_alloc(keep);
	unsigned int i, j = 0;

	if (!r)
		return NULL;
	r->created = old->created;
	r->changed = ktime_get_real_ns();
	r->metric = old->metric;
	r->type = old->type;
	r->proto = old->proto;
	for (i = 0; i < old->nh_count; i++)
		if (old->nh[i].oif != ifindex)
			r->nh[j++] = old->nh[i];
	if (keep == 1)
		r->nh[0].weight = 1;
	return r;
}

/* One route with next hops via ifindex: keep the others, or remove it. */
static void purge_route(struct rtmgr_net *rn, const struct rtmgr_key *k,
			struct rtmgr_route *r, u32 ifindex)
{
	unsigned int keep = hops_not_via(r, ifindex);
	struct rtmgr_route *nr, *old;
	struct rtmgr_event ev;

	nr = keep ? route_without(r, keep, ifindex) : NULL;
	if (nr) {
		rtmgr_event_prepare(&ev, rn->nlsk, rtmgr_route_msg_size(nr), 0,
				    NULL, NULL);
		if (!rtmgr_route_set(rn, k, nr, &old)) {
			rtmgr_event_route(&ev, RTMGR_MSG_NEWROUTE,
					  NLM_F_REPLACE, k, nr);
			rtmgr_route_retire(rn, old);
			return;
		}
		rtmgr_event_cancel(&ev);
		rtmgr_route_free(nr);
	}
	/* no next hop left, or no memory to keep some */
	rtmgr_event_prepare(&ev, rn->nlsk, rtmgr_route_msg_size(r), 0, NULL,
			    NULL);
	r = rtmgr_route_remove(rn, k);
	rtmgr_event_route(&ev, RTMGR_MSG_DELROUTE, 0, k, r);
	rtmgr_route_retire(rn, r);
}

/*
 * Every route through the device, in key order, until the device count of
 * rn->devices says none is left: a device no route uses costs one lookup.
 */
static void purge_device(struct rtmgr_net *rn, u32 ifindex)
{
	struct rtmgr_filter f = { .has_oif = 1, .oif = ifindex };
	unsigned int visited = 0;
	const struct rtmgr_node *n;
	const struct rtmgr_route *r;
	struct rtmgr_table *t;
	struct rtmgr_key k = {};
	unsigned long id;
	bool have;

	mutex_lock(&rn->lock);
	xa_for_each(&rn->tables, id, t) {
		k.table = id;
		for (k.fam = 0; k.fam < RTMGR_NFAM; k.fam++) {
			have = false;
			while (rtmgr_device_used(rn, ifindex) &&
			       (t = rtmgr_table_get(rn, id))) {
				const struct rtmgr_node *root =
					rtmgr_trie_root(rn, t, k.fam);

				/* the last prefix again while it has routes via the device */
				n = have ? rtmgr_trie_exact(rn, root, k.fam,
							    k.addr, k.plen) : NULL;
				r = n ? rtmgr_node_match(rn, n, &f, id, k.fam) : NULL;
				if (!r) {
					n = have ? rtmgr_trie_next(rn, root, k.fam,
								   k.addr, k.plen) :
						   rtmgr_trie_first(rn, root);
					if (!n)
						break;
					if (++visited % RTMGR_WALK_BATCH == 0)
						cond_resched();
					memcpy(k.addr, n->key, rtmgr_addr_len(k.fam));
					k.plen = n->plen;
					have = true;
					r = rtmgr_node_match(rn, n, &f, id, k.fam);
				}
				if (r) {
					k.metric = r->metric;
					purge_route(rn, &k, (struct rtmgr_route *)r, ifindex);
				}
			}
		}
		if (!rtmgr_device_used(rn, ifindex))
			break;
	}
	rtmgr_note_purge(visited);
	mutex_unlock(&rn->lock);
}

static int rtmgr_netdev_event(struct notifier_block *nb, unsigned long event,
			      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event != NETDEV_UNREGISTER || READ_ONCE(rtmgr_exiting))
		return NOTIFY_DONE;
	/* a namespace going away frees its routes in rtmgr_net_exit */
	if (!check_net(dev_net(dev)))
		return NOTIFY_DONE;
	purge_device(rtmgr_net(dev_net(dev)), dev->ifindex);
	return NOTIFY_DONE;
}

static struct notifier_block rtmgr_netdev_nb = {
	.notifier_call = rtmgr_netdev_event,
};

int rtmgr_device_init(void)
{
	return register_netdevice_notifier(&rtmgr_netdev_nb);
}

void rtmgr_device_exit(void)
{
	/* unregistering replays UNREGISTER for every device: ignore those */
	WRITE_ONCE(rtmgr_exiting, true);
	unregister_netdevice_notifier(&rtmgr_netdev_nb);
}
