/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim: a mutex that knows whether it is held, so lockdep_is_held() and
 * lockdep_assert_held() check what lockdep would; recursion and unlocking
 * a free mutex are bugs.  (Single-threaded: nothing ever waits.)
 */
#ifndef _KSHIM_LINUX_MUTEX_H
#define _KSHIM_LINUX_MUTEX_H

#include <linux/kernel.h>

struct mutex {
	bool held;
};

static inline void mutex_init(struct mutex *m)
{
	m->held = false;
}

static inline void mutex_lock(struct mutex *m)
{
	if (m->held)
		kshim_bug(__FILE__, __LINE__, "mutex_lock of a held mutex");
	m->held = true;
}

static inline void mutex_unlock(struct mutex *m)
{
	if (!m->held)
		kshim_bug(__FILE__, __LINE__, "mutex_unlock of a free mutex");
	m->held = false;
}

#define lockdep_is_held(m)	((m)->held)
#define lockdep_assert_held(m) do {					\
	if (!(m)->held)							\
		kshim_bug(__FILE__, __LINE__, "lock not held: " #m);	\
} while (0)

#endif
