// SPDX-License-Identifier: GPL-2.0
/*
 * Routes go with their devices.  When a device is unregistered (removed,
 * or moved to another namespace), every route whose only next hops use it
 * is deleted and every multipath route loses the next hops through it;
 * each change is notified like any other, with port id and sequence 0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/netdevice.h>
#include <linux/ktime.h>

#include "rtmgr.h"

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

static void purge_device(struct rtmgr_net *rn, u32 ifindex)
{
	struct rtmgr_filter f = { .has_oif = 1, .oif = ifindex };
	struct rtmgr_route *r, *nr, *old;
	const struct rtmgr_node *n;
	struct rtmgr_table *t;
	struct rtmgr_key k;
	unsigned long id;
	unsigned int keep;
	bool have;

	mutex_lock(&rn->lock);
	xa_for_each(&rn->tables, id, t) {
		k.table = id;
		for (k.fam = 0; k.fam < RTMGR_NFAM; k.fam++) {
			have = false;
			while ((t = rtmgr_table_get(rn, id))) {
				const struct rtmgr_node *root =
					rcu_dereference_protected(t->root[k.fam],
						lockdep_is_held(&rn->lock));

				n = have ? rtmgr_trie_next(root, k.fam, k.addr, k.plen) :
					   rtmgr_trie_first(root);
				if (!n)
					break;
				memcpy(k.addr, n->key, rtmgr_addr_len(k.fam));
				k.plen = n->plen;
				have = true;
				r = rcu_dereference_protected(n->route,
						lockdep_is_held(&rn->lock));
				if (!r || !rtmgr_filter_match(&f, id, k.fam, n->key,
							      n->plen, r))
					continue;
				keep = hops_not_via(r, ifindex);
				nr = keep ? route_without(r, keep, ifindex) : NULL;
				if (nr && !rtmgr_route_set(rn, &k, nr, &old)) {
					rtmgr_notify_route(rn, RTMGR_MSG_NEWROUTE,
							   NLM_F_REPLACE, &k, nr,
							   0, NULL);
					rtmgr_route_retire(rn, old);
					continue;
				}
				/* no next hop left, or no memory to keep some */
				if (nr)
					rtmgr_route_free(nr);
				r = rtmgr_route_remove(rn, &k);
				rtmgr_notify_route(rn, RTMGR_MSG_DELROUTE, 0, &k, r,
						   0, NULL);
				rtmgr_route_retire(rn, r);
			}
		}
	}
	mutex_unlock(&rn->lock);
}

static int rtmgr_netdev_event(struct notifier_block *nb, unsigned long event,
			      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event == NETDEV_UNREGISTER && !READ_ONCE(rtmgr_exiting))
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
