// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: each namespace has its own tables, its own
 * writer lock and its own netlink kernel socket for NETLINK_RTMGR, so
 * namespaces never see each other's routes.  A namespace that goes away
 * takes its routes with it.
 */
#include <linux/module.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "rtmgr.h"

unsigned int rtmgr_max_routes = 1U << 22;
module_param_named(max_routes, rtmgr_max_routes, uint, 0644);
MODULE_PARM_DESC(max_routes,
		 "routes per network namespace, beyond which adding fails with ENOSPC (0: no limit)");

static unsigned int rtmgr_net_id __read_mostly;

struct rtmgr_net *rtmgr_net(const struct net *net)
{
	return net_generic(net, rtmgr_net_id);
}

static int __net_init rtmgr_net_init(struct net *net)
{
	struct rtmgr_net *rn = rtmgr_net(net);
	struct netlink_kernel_cfg cfg = {
		.groups	= RTMGR_GRP_MAX,
		.flags	= NL_CFG_F_NONROOT_RECV,	/* anyone may listen */
		.input	= rtmgr_rcv,
	};

	rn->net = net;
	mutex_init(&rn->lock);
	xa_init(&rn->tables);
	xa_init(&rn->devices);
	rn->generation = 1;
	atomic64_set(&rn->requests, 0);
	atomic64_set(&rn->errors, 0);
	atomic64_set(&rn->misses, 0);
	/* requests use the socket they came in on, never rn->nlsk */
	rn->nlsk = netlink_kernel_create(net, NETLINK_RTMGR, &cfg);
	if (!rn->nlsk) {
		/* the one other cause is an allocation failure */
		pr_err("no netlink socket for protocol %d: another kernel socket holds it in this namespace (see /proc/net/netlink), or memory ran out\n",
		       NETLINK_RTMGR);
		return -EADDRINUSE;
	}
	return 0;
}

static void __net_exit rtmgr_net_exit(struct net *net)
{
	struct rtmgr_net *rn = rtmgr_net(net);

	netlink_kernel_release(rn->nlsk);
	rtmgr_tables_free_all(rn);
	mutex_destroy(&rn->lock);
}

static struct pernet_operations rtmgr_net_ops = {
	.init	= rtmgr_net_init,
	.exit	= rtmgr_net_exit,
	.id	= &rtmgr_net_id,
	.size	= sizeof(struct rtmgr_net),
};

int rtmgr_netns_init(void)
{
	return register_pernet_subsys(&rtmgr_net_ops);
}

void rtmgr_netns_exit(void)
{
	unregister_pernet_subsys(&rtmgr_net_ops);
}
