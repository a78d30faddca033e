// SPDX-License-Identifier: GPL-2.0
/*
 * rtmgr: a routing-table manager in the kernel, spoken to over netlink
 * protocol NETLINK_RTMGR.  This file only brings the parts up and down;
 * see kernel/uapi/linux/rtmgr.h for the protocol and rtmgr.h for the map.
 */
#include <linux/module.h>
#include <net/sock.h>

#include "rtmgr.h"

/*
 * The sockets go live (rtmgr_netns_init) before devices are watched
 * (rtmgr_device_init): until then a route could be added through a device
 * whose removal nobody sees, so requests are refused until both are up.
 */
static bool rtmgr_ready;

bool rtmgr_is_ready(void)
{
	return smp_load_acquire(&rtmgr_ready);
}

static int __init rtmgr_init(void)
{
	int err;

	err = rtmgr_table_init();
	if (err)
		return err;
	err = rtmgr_netns_init();
	if (err)
		goto err_caches;
	rtmgr_load_delay();
	err = rtmgr_device_init();
	if (err)
		goto err_netns;
	smp_store_release(&rtmgr_ready, true);
	pr_info("loaded: netlink protocol %d\n", NETLINK_RTMGR);
	return 0;

err_netns:
	rtmgr_netns_exit();
err_caches:
	rtmgr_table_exit();
	return err;
}

static void __exit rtmgr_exit(void)
{
	rtmgr_device_exit();
	rtmgr_netns_exit();
	rtmgr_table_exit();
	pr_info("unloaded\n");
}

module_init(rtmgr_init);
module_exit(rtmgr_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Routing table manager over netlink");
MODULE_ALIAS_NET_PF_PROTO(PF_NETLINK, NETLINK_RTMGR);
