/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: the fields of struct sk_buff that dump.c reads.  end is the shim's
 * own: the capacity of data, which the harness's message builder honours.
 */
#ifndef _KSHIM_LINUX_SKBUFF_H
#define _KSHIM_LINUX_SKBUFF_H

#include <linux/types.h>

struct sock;

struct sk_buff {
	struct sock	*sk;
	unsigned char	*data;
	unsigned int	len;
	unsigned int	end;
	char		cb[48] __attribute__((aligned(8)));
};

#endif
