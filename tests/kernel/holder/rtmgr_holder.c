// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module that holds rtmgr's netlink protocol in the initial
 * namespace, so the kernel tier can show what loading rtmgr then says.
 * Built by scripts/build-module next to rtmgr.ko; never installed.
 */
#include <linux/module.h>
#include <linux/netlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <uapi/linux/rtmgr.h>

static struct sock *holder;

static void holder_rcv(struct sk_buff *skb)
{
}

static int __init holder_init(void)
{
	struct netlink_kernel_cfg cfg = { .input = holder_rcv };

	holder = netlink_kernel_create(&init_net, NETLINK_RTMGR, &cfg);
	return holder ? 0 : -EADDRINUSE;
}

static void __exit holder_exit(void)
{
	netlink_kernel_release(holder);
}

module_init(holder_init);
module_exit(holder_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("rtmgr tests: holds NETLINK_RTMGR in init_net");
