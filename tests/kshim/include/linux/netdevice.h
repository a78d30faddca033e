/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: what device.c uses of linux/netdevice.h and notifier.h.  A device
 * is its index and namespace; the netdevice notifier chain holds one block
 * (kshim.c), which unregistering calls for every device in kshim_netdevs,
 * as the kernel replays NETDEV_UNREGISTER then.
 */
#ifndef _KSHIM_LINUX_NETDEVICE_H
#define _KSHIM_LINUX_NETDEVICE_H

#include <linux/kernel.h>

struct net;

struct net_device {
	int		ifindex;
	struct net	*nd_net;
};

struct netdev_notifier_info {
	struct net_device	*dev;
};

struct notifier_block {
	int (*notifier_call)(struct notifier_block *nb, unsigned long event, void *ptr);
};

#define NOTIFY_DONE		0x0000
#define NETDEV_UP		0x0001
#define NETDEV_UNREGISTER	0x0006

static inline struct net_device *netdev_notifier_info_to_dev(const void *ptr)
{
	return ((const struct netdev_notifier_info *)ptr)->dev;
}

static inline struct net *dev_net(const struct net_device *dev)
{
	return dev->nd_net;
}

int register_netdevice_notifier(struct notifier_block *nb);
int unregister_netdevice_notifier(struct notifier_block *nb);

#endif
