/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: RCU for one thread.  rcu_read_lock() only counts its depth;
 * call_rcu() queues the callback and nothing runs it until a grace period,
 * kshim_rcu_barrier() (also synchronize_rcu() and rcu_barrier()), which
 * the harness calls only outside read-side sections.  A reader that keeps
 * a pointer across a grace period therefore reads freed memory, which ASan
 * reports.  rcu_dereference_check() and rcu_dereference_protected() check
 * their conditions as CONFIG_PROVE_RCU would.
 */
#ifndef _KSHIM_LINUX_RCUPDATE_H
#define _KSHIM_LINUX_RCUPDATE_H

#include <linux/kernel.h>

typedef void (*rcu_callback_t)(struct rcu_head *head);

extern int kshim_rcu_depth;

static inline void rcu_read_lock(void)
{
	kshim_rcu_depth++;
}

static inline void rcu_read_unlock(void)
{
	if (kshim_rcu_depth <= 0)
		kshim_bug(__FILE__, __LINE__, "rcu_read_unlock without rcu_read_lock");
	kshim_rcu_depth--;
}

#define rcu_dereference_check(p, c) ({					\
	if (!kshim_rcu_depth && !(c))					\
		kshim_bug(__FILE__, __LINE__,				\
			  "rcu_dereference_check(" #p ") outside RCU and lock");\
	READ_ONCE(p); })
#define rcu_dereference(p)	rcu_dereference_check(p, 0)
#define rcu_dereference_protected(p, c) ({				\
	if (!(c))							\
		kshim_bug(__FILE__, __LINE__,				\
			  "rcu_dereference_protected(" #p ") without " #c);\
	(p); })
#define rcu_access_pointer(p)	READ_ONCE(p)
#define rcu_assign_pointer(p, v)					\
	__atomic_store_n(&(p), (__typeof__(p))(v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v)	do { (p) = (v); } while (0)

void call_rcu(struct rcu_head *head, rcu_callback_t func);
void synchronize_rcu(void);
void rcu_barrier(void);

#endif
