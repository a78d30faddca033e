/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: the kernel's linux/netlink.h on top of the system's uapi one
 * (struct nlmsghdr, NLM_F_*).  struct netlink_callback has the kernel's
 * layout up to ctx, whose size (48 bytes in 6.1 and 6.12) dump.c's
 * static_assert checks its cursor against.
 */
#ifndef _KSHIM_LINUX_NETLINK_H
#define _KSHIM_LINUX_NETLINK_H

#include_next <linux/netlink.h>
#include <linux/skbuff.h>

struct module;

struct netlink_ext_ack {
	const char *_msg;
};

#define NL_SET_ERR_MSG(extack, msg) do {				\
	struct netlink_ext_ack *__extack = (extack);			\
									\
	if (__extack)							\
		__extack->_msg = (msg);					\
} while (0)

struct netlink_skb_parms {
	__u32	portid;
};

#define NETLINK_CB(skb)	(*(struct netlink_skb_parms *)&((skb)->cb))

struct netlink_callback {
	struct sk_buff		*skb;
	const struct nlmsghdr	*nlh;
	int			(*dump)(struct sk_buff *skb,
					struct netlink_callback *cb);
	int			(*done)(struct netlink_callback *cb);
	void			*data;
	struct module		*module;
	struct netlink_ext_ack	*extack;
	u16			family;
	u16			answer_flags;
	u32			min_dump_alloc;
	unsigned int		prev_seq, seq;
	bool			strict_check;
	union {
		u8		ctx[48];
		long		args[6];
	};
};

#endif
