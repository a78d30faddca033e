/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: the namespace is the harness's; it says whether one is alive. */
#ifndef _KSHIM_NET_NET_NAMESPACE_H
#define _KSHIM_NET_NET_NAMESPACE_H

#include <linux/types.h>

struct net;

/* the harness's: false while the namespace is being dismantled */
bool check_net(const struct net *net);

#endif
