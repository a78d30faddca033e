/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: cond_resched() is where the kernel may run other tasks, so the
 * harness may run its hook there (grace periods; writers when the lock is
 * free).  Calling it inside an RCU read-side section is a bug.
 */
#ifndef _KSHIM_LINUX_SCHED_H
#define _KSHIM_LINUX_SCHED_H

void cond_resched(void);

#endif
