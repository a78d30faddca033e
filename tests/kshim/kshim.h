/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shim's controls, for the harness: fault injection, grace periods,
 * the scheduler hook and the allocator's books.
 */
#ifndef _KSHIM_H
#define _KSHIM_H

#include <linux/types.h>

/* Where an allocation can fail. */
enum kshim_site {
	KSHIM_KMALLOC,		/* kmalloc, kzalloc */
	KSHIM_CACHE,		/* kmem_cache_alloc, kmem_cache_zalloc */
	KSHIM_XA,		/* xa_store at an empty index */
	KSHIM_CACHE_CREATE,	/* kmem_cache_create */
	KSHIM_NSITES
};

extern const char *const kshim_site_name[KSHIM_NSITES];
extern unsigned long kshim_attempts[KSHIM_NSITES];
extern unsigned long kshim_injected[KSHIM_NSITES];

/* The nth allocation from now fails (1: the next one); 0 turns it off. */
void kshim_fail_nth(unsigned long n);
/* Each allocation fails with probability permille/1000, from seed. */
void kshim_fail_rate(unsigned int permille, u64 seed);
/* No more failures; returns how many were injected since the last call. */
unsigned long kshim_fail_off(void);

/* One grace period: every queued RCU callback runs. */
void kshim_rcu_barrier(void);
unsigned long kshim_rcu_pending(void);

/* Runs at every cond_resched() (outside RCU read-side sections). */
extern void (*kshim_resched_hook)(void);
extern unsigned long kshim_resched_calls;

/* The netdevice notifier chain: the one block registered, or NULL. */
struct notifier_block;
struct net_device;
extern struct notifier_block *kshim_netdev_nb;
/* the devices unregister_netdevice_notifier() replays NETDEV_UNREGISTER for */
extern struct net_device *kshim_netdevs;
extern unsigned int kshim_nnetdevs;

/* The allocator's books. */
unsigned int kshim_cache_object_size(const char *name);
unsigned long kshim_cache_live(const char *name);	/* ~0UL: no such cache */
unsigned long kshim_kmalloc_live(void);
size_t kshim_ksize(const void *p);			/* 0: not from kmalloc */

#endif
