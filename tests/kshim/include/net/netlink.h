/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: net/netlink.h's dump consistency check, with the kernel's rule:
 * a message gets NLM_F_DUMP_INTR when cb->seq moved since the last one.
 */
#ifndef _KSHIM_NET_NETLINK_H
#define _KSHIM_NET_NETLINK_H

#include <linux/netlink.h>

static inline void nl_dump_check_consistent(struct netlink_callback *cb,
					    struct nlmsghdr *nlh)
{
	if (cb->prev_seq && cb->seq != cb->prev_seq)
		nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	cb->prev_seq = cb->seq;
}

#endif
