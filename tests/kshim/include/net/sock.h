/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: a socket is only the namespace it belongs to. */
#ifndef _KSHIM_NET_SOCK_H
#define _KSHIM_NET_SOCK_H

#include <linux/skbuff.h>

struct net;

struct sock {
	struct net	*sk_net;
};

static inline struct net *sock_net(const struct sock *sk)
{
	return sk->sk_net;
}

#endif
