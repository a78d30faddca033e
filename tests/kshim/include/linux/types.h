/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: the kernel's linux/types.h for a user-space build of table.c and
 * dump.c.  The uapi __u8 ... __u64 come from the system's linux/types.h;
 * the kernel's own short names, atomic64_t and struct rcu_head sit on top.
 */
#ifndef _KSHIM_LINUX_TYPES_H
#define _KSHIM_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;

typedef struct {
	s64 counter;
} atomic64_t;

/* the kernel's struct callback_head: two words, as in the kernel */
struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#define __rcu

#endif
